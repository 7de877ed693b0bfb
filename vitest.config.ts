import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: these run real pip/python/podman, and a shared CI host can be several times slower.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Tests spawn real processes (pip, python, moto); two cores, so keep the pool small.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
