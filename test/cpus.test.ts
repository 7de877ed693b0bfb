import { describe, expect, it } from 'vitest';
import { cpusFromCgroupQuota, usableCpus } from '../lib/cpus.js';

describe('the default --jobs', () => {
  it('follows a container CPU quota (cgroup v2 cpu.max), not the machine', () => {
    expect(cpusFromCgroupQuota('200000 100000\n')).toBe(2);
    expect(cpusFromCgroupQuota('150000 100000')).toBe(1);
    expect(cpusFromCgroupQuota('50000 100000')).toBe(1);
    expect(cpusFromCgroupQuota('max 100000')).toBeUndefined();
    expect(cpusFromCgroupQuota('')).toBeUndefined();
  });

  it('is at least 1 on this machine', () => {
    expect(usableCpus()).toBeGreaterThanOrEqual(1);
  });
});
