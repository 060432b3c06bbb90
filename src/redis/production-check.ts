// Start-up check of the Redis that holds the queues: settings under which jobs, approvals or the
// audit trail can silently disappear. Each problem is one warning, logged and returned (local and bot
// mode print them once). Managed Redis often refuses CONFIG: then INFO is read instead, and when that
// is refused too, the warning says the settings could not be checked. Nothing here stops start-up.
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';

/** What one server says about itself; undefined where it would not say. */
interface ServerFacts {
  evictionPolicy?: string | undefined;
  appendOnly?: boolean | undefined;
  /** RDB snapshot rules (`save`), empty when snapshots are off. */
  save?: string | undefined;
  /** Replicas attached to it. */
  replicas?: number | undefined;
  /** The role it says it has. */
  role?: string | undefined;
}

async function configGet(redis: Redis, name: string): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', name)) as unknown as string[];
    return reply[1];
  } catch {
    return undefined; // refused (managed Redis, ACL) or renamed: INFO is tried instead
  }
}

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

async function factsOf(redis: Redis): Promise<ServerFacts> {
  const facts: ServerFacts = {
    evictionPolicy: await configGet(redis, 'maxmemory-policy'),
    save: await configGet(redis, 'save'),
  };
  const appendOnly = await configGet(redis, 'appendonly');
  if (appendOnly !== undefined) facts.appendOnly = appendOnly === 'yes';
  let info = '';
  try {
    info = await redis.info();
  } catch {
    // refused as well: what CONFIG said (maybe nothing) is all there is
  }
  facts.evictionPolicy ??= infoField(info, 'maxmemory_policy');
  if (facts.appendOnly === undefined) {
    const aof = infoField(info, 'aof_enabled');
    if (aof !== undefined) facts.appendOnly = aof === '1';
  }
  const replicas = infoField(info, 'connected_slaves');
  if (replicas !== undefined) facts.replicas = Number(replicas);
  facts.role = infoField(info, 'role');
  return facts;
}

/** The warnings for one server's facts (`where` names the node on a Cluster). */
export function productionWarnings(facts: ServerFacts, where = '', sentinel = false): string[] {
  const on = where ? ` on ${where}` : '';
  const warnings: string[] = [];
  if (facts.evictionPolicy === undefined) {
    warnings.push(
      `could not check the Redis eviction policy${on} (CONFIG GET and INFO refused): it must be noeviction, or Redis may drop queued jobs when memory is full`,
    );
  } else if (facts.evictionPolicy !== 'noeviction') {
    warnings.push(
      `Redis maxmemory-policy is ${facts.evictionPolicy}${on}: when memory is full Redis will drop keys, queued jobs and approvals among them; set maxmemory-policy noeviction`,
    );
  }
  if (facts.appendOnly === undefined) {
    warnings.push(
      `could not check Redis persistence${on} (CONFIG GET and INFO refused): without appendonly yes, a Redis restart loses the jobs queued since its last snapshot`,
    );
  } else if (!facts.appendOnly) {
    warnings.push(
      facts.save === ''
        ? `Redis has no persistence${on} (appendonly no, no save rules): a Redis restart loses every queued job, approval and the audit trail; set appendonly yes`
        : `Redis appendonly is off${on}: a Redis restart loses what changed since the last RDB snapshot (jobs, approvals, audit entries); set appendonly yes`,
    );
  }
  if (sentinel && facts.replicas === 0) {
    warnings.push(
      `the Redis primary${on} has no replica attached: Sentinel has nothing to fail over to, so losing the primary stops vmops`,
    );
  }
  return warnings;
}

/** Checks the server (every primary of a Cluster), logs each warning, and returns them. */
export async function checkProductionRedis(redis: Redis, log?: Logger, what = 'redis'): Promise<string[]> {
  const warnings: string[] = [];
  try {
    if (redis.isCluster) {
      const cluster = redis as unknown as Cluster;
      await cluster.ping(); // the slot map is known after the first command
      for (const node of cluster.nodes('master')) {
        const where = `${node.options.host}:${node.options.port}`;
        warnings.push(...productionWarnings(await factsOf(node), where));
      }
    } else {
      const sentinel = Array.isArray(redis.options.sentinels) && redis.options.sentinels.length > 0;
      warnings.push(...productionWarnings(await factsOf(redis), '', sentinel));
    }
  } catch (error) {
    log?.warn({ err: error }, 'could not check the Redis settings for production');
    return [];
  }
  for (const warning of warnings) log?.warn({ check: what }, warning);
  return warnings;
}
