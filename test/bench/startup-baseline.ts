// The start-up benchmark's baseline (run by startup.bench.ts, not a benchmark itself): the least a
// Redis-backed bot must do before it can answer: start a private redis-server, import bullmq and
// ioredis, connect, print one line, stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer } from '../../src/redis/redis-server-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'vmops-startup-baseline-'));
const server = await startRedisServer({ dir, appendOnly: true });
const [{ Queue }, { Redis }] = await Promise.all([import('bullmq'), import('ioredis')]);
const connection = new Redis(server.url, { maxRetriesPerRequest: null });
const queue = new Queue('build', { connection });
await queue.waitUntilReady();
process.stdout.write('ready\n');
await queue.close();
connection.disconnect();
await server.stop();
rmSync(dir, { recursive: true, force: true });
