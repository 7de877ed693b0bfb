/**
 * The pip-free resolver ranks wheels by pip's supported-tags order for the Lambda target: the
 * list must be exactly what pip computes for `--python-version X.Y --implementation cp --abi
 * cpXY --platform <lambdaPlatformTags>` (pip's compatibility_tags.get_supported, which runs
 * pip._vendor.packaging.tags), for every Runtime's Python and both architectures.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { supportedTags } from '../languages/python/resolver/tags.js';
import { lambdaPlatformTags, type LambdaTarget } from '../lib/wheel-tags.js';

const PIP_TAGS = `
import json, sys
from pip._internal.utils.compatibility_tags import get_supported
for target in json.loads(sys.argv[1]):
    print(json.dumps([str(tag) for tag in get_supported(version=target["version"], platforms=target["platforms"], impl="cp", abis=[target["abi"]])]))
`;

describe('supportedTags', () => {
  it('equals pip\'s own list, in pip\'s order, for each Runtime and Architecture', async () => {
    const targets: LambdaTarget[] = [];
    for (const [pythonVersion, glibcMinor] of [['3.10', 26], ['3.11', 26], ['3.12', 34], ['3.13', 34], ['3.9', 26]] as const) {
      for (const architecture of ['x86_64', 'arm64'] as const) targets.push({ pythonVersion, glibcMinor, architecture });
    }
    const request = targets.map((target) => ({
      version: target.pythonVersion.replace('.', ''), abi: `cp${target.pythonVersion.replace('.', '')}`, platforms: lambdaPlatformTags(target),
    }));
    const { stdout } = await execa('python3', ['-c', PIP_TAGS, JSON.stringify(request)]);
    const fromPip = stdout.trim().split('\n').map((line) => JSON.parse(line) as string[]);
    expect(fromPip).toHaveLength(targets.length);
    targets.forEach((target, index) => {
      expect(supportedTags(target), `${target.pythonVersion} ${target.architecture}`).toEqual(fromPip[index]);
    });
    // The list pip ranks by holds manylinux2014's expansion (2010, 1) for x86_64 only.
    expect(supportedTags(targets[2]!)).toContain('cp311-cp311-manylinux1_x86_64');
    expect(supportedTags(targets[3]!).some((tag) => tag.includes('manylinux1'))).toBe(false);
  });
});
