/**
 * Per resolved wheel, what `pip install --target` would place (lib/wheel.ts), with the data of
 * each member ready to copy: the wheel's own deflated bytes, or our compression of the members it
 * stores (or compresses otherwise), made once per wheel and kept in the wheel cache. The tags in
 * every wheel's WHEEL file are checked for the Lambda target.
 */
import { closeSync, openSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { temporaryName } from './atomic.js';
import { usableCpus } from './cpus.js';
import { ConfigError, EnvironmentError } from './errors.js';
import { run } from './exec.js';
import { verifyWheelTags } from './lambda-resolve.js';
import type { InstalledWheel, MemberData } from './package-layout.js';
import type { Requirements } from './package-requirements.js';
import { safeName } from './redact.js';
import { planWheelInstall, WheelError } from './wheel.js';
import { compressMembers, type DerivedMember } from './wheel-store.js';
import type { LambdaTarget } from './wheel-tags.js';
import type { ZipMember } from './zip-read.js';

export async function whatPipWouldPlace(requirements: Requirements, python: string, target: LambdaTarget, runtime: string): Promise<InstalledWheel[]> {
  const wheels: InstalledWheel[] = [];
  for (const wheel of requirements.wheels) {
    const fd = openSync(wheel.stored.file, 'r');
    let install;
    try {
      install = await planWheelInstall(fd, wheel.stored.members, { requested: wheel.requested });
    } catch (error) {
      if (error instanceof WheelError) throw new ConfigError(`requirements.txt: ${safeName(wheel.filename)}: ${safeName(error.message, 300)}`);
      throw error;
    } finally {
      closeSync(fd);
    }
    // Members the wheel does not deflate are compressed by us, once per wheel (kept in the cache).
    const wanted = install.members.map((placed) => placed.member).filter((member) => member.method !== 8 && member.size > 0);
    const derived = await requirements.store.derived(wheel.stored, wanted, (folder) => compressUndeflated(folder, wheel.stored.file, wanted, python));
    wheels.push({ install, file: wheel.stored.file, derived: new Map(derived.members.map((record) => [record.member, toMemberData(record, derived.folder)])) });
  }
  verifyWheelTags(wheels.map((wheel) => wheel.install), target, runtime);
  return wheels;
}

function toMemberData(record: DerivedMember, folder: string): MemberData {
  return { blob: path.join(folder, record.blob), offset: record.offset, compressedSize: record.compressedSize, method: record.method };
}

/** Stored members are read from the wheel as they are; other methods (bzip2, lzma) are decompressed by Python's zipfile first. */
async function compressUndeflated(folder: string, wheelFile: string, members: ZipMember[], python: string): Promise<DerivedMember[]> {
  const others = members.filter((member) => member.method !== 0);
  const extracted = path.join(folder, temporaryName('tmp'));
  try {
    if (others.length > 0) {
      await mkdir(extracted, { recursive: true });
      const script = 'import os, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor i, name in enumerate(sys.argv[3:]):\n    open(os.path.join(sys.argv[2], str(i)), "wb").write(z.read(name))\n';
      const result = await run(python, ['-c', script, wheelFile, extracted, ...others.map((member) => member.name)]);
      if (result.exitCode !== 0) throw new EnvironmentError(`${python}: could not decompress members of ${path.basename(wheelFile)} stored with a method other than deflate: ${safeName(result.stderr.trim().split('\n').pop() ?? '')}`);
    }
    const files = members.map((member) => ({
      member,
      source: member.method === 0
        ? { name: member.name, path: wheelFile, offset: member.dataOffset, size: member.size, executable: false }
        : { name: member.name, path: path.join(extracted, String(others.indexOf(member))), size: member.size, executable: false },
    }));
    return await compressMembers(folder, files, usableCpus());
  } finally {
    await rm(extracted, { recursive: true, force: true });
  }
}

