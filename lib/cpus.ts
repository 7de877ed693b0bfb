/**
 * How many CPUs this process may really use. In a container (CodeBuild, docker --cpus) the
 * machine's CPU count can be far above the cgroup's quota; running that many test files at once
 * would only make each slower and hit their timeouts.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** CPUs granted by a cgroup v2 `cpu.max` line ("max 100000" or "200000 100000"), or undefined. */
export function cpusFromCgroupQuota(cpuMax: string): number | undefined {
  const [quota, period] = cpuMax.trim().split(/\s+/);
  if (!quota || quota === 'max' || !period) return undefined;
  const cpus = Number(quota) / Number(period);
  return Number.isFinite(cpus) && cpus > 0 ? Math.max(1, Math.floor(cpus)) : undefined;
}

export function usableCpus(): number {
  const machine = availableParallelism();
  let quota: number | undefined;
  try {
    quota = cpusFromCgroupQuota(readFileSync('/sys/fs/cgroup/cpu.max', 'utf8'));
  } catch {
    // no cgroup v2 here (or not Linux): the machine's count is all we know
  }
  return Math.min(machine, quota ?? machine);
}
