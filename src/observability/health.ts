// Health of a bot process, for /healthz and /readyz. Live: the process answers and its Redis answers
// PING. Ready: live, and every chat network's adapter is connected. A report names what is down.
import { TimeoutError } from 'es-toolkit/error/TimeoutError';
import { withTimeout } from 'es-toolkit/promise/withTimeout';
import type { ChatAdapter } from '../types.ts';

export interface HealthCheck {
  ok: boolean;
  /** Why not, in a few words (never a URL or a secret). */
  detail?: string;
}

export interface HealthReport {
  ok: boolean;
  /** `redis`, `network:<name>`: each check and its result. */
  checks: Record<string, HealthCheck>;
  /** The names of the checks that failed. */
  down: string[];
}

export interface BotHealth {
  /** The process is alive and Redis answers. */
  live(): Promise<HealthReport>;
  /** Live, and every chat network is connected. */
  ready(): Promise<HealthReport>;
}

/** What a Redis connection offers for the check (ioredis Redis or Cluster). */
interface Pingable {
  status: string;
  ping(): Promise<string>;
}

export function botHealth(options: {
  redis: Pingable;
  adapters: ReadonlyMap<string, ChatAdapter>;
  /** How long a PING may take (ms; default 1000). */
  timeoutMs?: number;
}): BotHealth {
  const timeoutMs = options.timeoutMs ?? 1000;
  const redisCheck = async (): Promise<HealthCheck> => {
    // While disconnected, ioredis would hold the PING until it reconnects: answer at once instead.
    if (options.redis.status !== 'ready') return { ok: false, detail: `connection ${options.redis.status}` };
    try {
      const answer = await withTimeout(() => options.redis.ping(), timeoutMs);
      return answer === 'PONG' ? { ok: true } : { ok: false, detail: 'unexpected answer' };
    } catch (error) {
      if (error instanceof TimeoutError) return { ok: false, detail: `no PONG within ${timeoutMs} ms` };
      return { ok: false, detail: 'PING failed' };
    }
  };
  const report = (checks: Record<string, HealthCheck>): HealthReport => {
    const down = Object.entries(checks)
      .filter(([, check]) => !check.ok)
      .map(([name]) => name);
    return { ok: down.length === 0, checks, down };
  };
  return {
    async live() {
      return report({ redis: await redisCheck() });
    },
    async ready() {
      const checks: Record<string, HealthCheck> = { redis: await redisCheck() };
      for (const [name, adapter] of options.adapters) {
        const up = adapter.connected?.() ?? true;
        checks[`network:${name}`] = up ? { ok: true } : { ok: false, detail: 'not connected' };
      }
      return report(checks);
    },
  };
}
