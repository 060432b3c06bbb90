import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/redis.global.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
