import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Child-process and server tests share the 2 cores; keep parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
});
