import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Builds and boots real appliances under QEMU (CPU-bound, minutes): its own project, run after the
 * rest of the suite has finished, one file, its tests one after the other. The recipe boots one TCG
 * guest at a time on a host without KVM (boot slots), so its boots do not starve each other.
 */
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
