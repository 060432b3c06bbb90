// The catalog as the commands and the web console read it (CatalogReader): versions, test reports,
// deployments, and the one write they may ask for (expunge).
import type { Redis } from 'ioredis';
import { readDeployments } from '../clouds/deployment-record.ts';
import type { CatalogReader } from '../grammar/command-spec.ts';
import type { RedisKeys } from '../redis/keys.ts';
import type { TestReport } from '../reports/test-report.ts';
import type { Catalog } from './catalog.ts';

export function catalogReader(redis: Redis, keys: RedisKeys, catalog: Catalog): CatalogReader {
  return {
    version: (product, version) => catalog.version(product, version),
    versions: (product) => catalog.versions(product),
    report: async (jobId) => {
      const raw = await redis.get(keys.report(jobId));
      return raw ? (JSON.parse(raw) as TestReport) : undefined;
    },
    expunge: (product, version) => catalog.expunge(product, version),
    deployments: (product, version) => readDeployments(redis, keys, product, version),
  };
}
