import { configDefaults, defineConfig } from 'vitest/config';

/** Boots real appliances under QEMU (CPU-bound): it runs after the rest, alone, so no other file slows its boots. */
const APPLIANCE = 'test/integration/cernvm-appliance.test.ts';

export default defineConfig({
  test: {
    globalSetup: ['test/setup/redis.global.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'vmops',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, APPLIANCE],
          sequence: { groupOrder: 0 },
        },
      },
      { extends: true, test: { name: 'appliance', include: [APPLIANCE], sequence: { groupOrder: 1 } } },
    ],
  },
});
