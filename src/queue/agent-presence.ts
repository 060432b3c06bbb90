// Workers as agents: each worker process announces itself (host, stages, formats, running jobs) and
// renews the announcement with a heartbeat; an announcement that is not renewed expires, so `agents`
// lists only live workers, and a job that no live worker can take is refused at once.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';
import type { Stage } from '../types.ts';
import { FORMAT_STAGES } from './stage-queues.ts';

export interface AgentInfo {
  /** Worker name (host name and pid by default). */
  name: string;
  host: string;
  pid: number;
  stages: Stage[];
  formats: string[];
  /** Jobs running now. */
  running: number;
  startedAt: number;
  /** Last heartbeat (ms since epoch). */
  seenAt: number;
}

export interface AgentPresence {
  stop(): Promise<void>;
}

/** Announces a worker now and every `intervalMs`; the announcement lives three intervals. */
export async function announceAgent(
  redis: Redis,
  keys: RedisKeys,
  info: Omit<AgentInfo, 'running' | 'seenAt'>,
  running: () => number,
  intervalMs = 5000,
): Promise<AgentPresence> {
  const beat = async () => {
    const now: AgentInfo = { ...info, running: running(), seenAt: Date.now() };
    await redis
      .multi()
      .set(keys.agent(info.name), JSON.stringify(now), 'PX', intervalMs * 3)
      .sadd(keys.agents, info.name)
      .exec();
  };
  await beat();
  const timer = setInterval(() => void beat().catch(() => undefined), intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await redis.multi().del(keys.agent(info.name)).srem(keys.agents, info.name).exec();
    },
  };
}

/** Workers whose heartbeat is still alive; forgets the others. */
export async function liveAgents(redis: Redis, keys: RedisKeys): Promise<AgentInfo[]> {
  const names = await redis.smembers(keys.agents);
  if (names.length === 0) return [];
  const values = await redis.mget(names.map((name) => keys.agent(name)));
  const gone = names.filter((_, i) => values[i] === null);
  if (gone.length > 0) await redis.srem(keys.agents, ...gone);
  return values
    .filter((v): v is string => v !== null)
    .map((v) => JSON.parse(v) as AgentInfo)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Whether some live worker takes jobs of this stage (and format). */
export function canTake(agents: readonly AgentInfo[], stage: Stage, format: string | undefined): boolean {
  return agents.some(
    (a) =>
      a.stages.includes(stage) &&
      (!FORMAT_STAGES.has(stage) || format === undefined || a.formats.includes(format)),
  );
}
