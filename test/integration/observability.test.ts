// Observability against the real engine and Redis: /metrics after commands and jobs (and its bearer
// token), /healthz and /readyz turning red when a dedicated Redis is stopped or a network is
// disconnected (and green again), one trace id on every log line of a command from the message
// through the worker to its status message, and no secret of the config in any log line of a bot
// that runs a command over a (local) Slack at debug level.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { defaultConfigPath, parseConfig, repoRoot } from '../../src/app/config-load.ts';
import { networkAdapters } from '../../src/app/network-adapters.ts';
import { VmopsMetrics } from '../../src/observability/metrics.ts';
import { traceOfEvent } from '../../src/observability/trace.ts';
import { describeTarget } from '../../src/redis/connect.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/redis-server-process.ts';
import type { ChatAdapter } from '../../src/types.ts';
import { type StageWorkers, startStageWorkers } from '../../src/worker/stage-worker.ts';
import { testConfig } from '../helpers/engine.ts';
import { FakeChat, message } from '../helpers/fake-chat.ts';
import { capturedLogger } from '../helpers/log-capture.ts';
import { cleanPrefix, redisUrl } from '../helpers/redis.ts';
import { FakeSlack } from '../helpers/slack-server.ts';
import { until } from '../helpers/until.ts';
import { startWebEngine, type WebEngine } from '../helpers/web-console.ts';

const undo: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of undo.reverse()) await step();
  undo.length = 0;
});

/** The value of one sample in Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/** A bot core and a worker on the run's Redis with a given logger and adapters; undone after the test. */
async function startLoggedBot(
  config: Config,
  adapters: ChatAdapter[],
  log: Logger,
): Promise<{ core: BotCore; worker: StageWorkers }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vmops-obs-data-'));
  undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
  undo.push(() => cleanPrefix(config.redis.prefix));
  const core = await startBotCore({
    config,
    redisUrl: redisUrl(),
    adapters: new Map(adapters.map((a) => [a.network, a])),
    log,
    instanceId: 'obs-test',
    sendRetryMs: 5,
  });
  undo.push(() => core.close());
  const worker = await startStageWorkers({
    config,
    redisUrl: redisUrl(),
    keys: redisKeys(config.redis.prefix),
    log,
    repoRoot,
    dataDir,
    name: 'obs-worker',
  });
  undo.push(() => worker.close({ cancelRunning: true }));
  return { core, worker };
}

describe('/metrics', () => {
  it('reads job counts and workers once per scrape, however many gauges show them', async () => {
    const metrics = new VmopsMetrics();
    const reads = { jobCounts: 0, workers: 0 };
    metrics.attach({
      jobCounts: async () => {
        reads.jobCounts += 1;
        return [{ queue: 'build', stage: 'build', counts: { waiting: 2, active: 1 } }];
      },
      workers: async () => {
        reads.workers += 1;
        return [
          {
            name: 'w1',
            host: 'h',
            pid: 1,
            stages: ['build'],
            formats: [],
            running: 1,
            startedAt: 0,
            seenAt: 1000,
          },
        ];
      },
      networks: () => [],
      redisUp: () => true,
      now: () => 3000,
    });
    const text = await metrics.text();
    expect(text).toContain('vmops_queue_depth{queue="build"} 2');
    expect(text).toContain('vmops_jobs{stage="build",state="active"} 1');
    expect(text).toContain('vmops_worker_heartbeat_age_seconds{worker="w1"} 2');
    expect(text).toContain('vmops_worker_running_jobs{worker="w1"} 1');
    expect(reads).toEqual({ jobCounts: 1, workers: 1 });
    // The next scrape reads again: nothing is kept between scrapes.
    await metrics.text();
    expect(reads).toEqual({ jobCounts: 2, workers: 2 });
  });

  it('counts commands by outcome, jobs by stage and state, chat sends, workers and networks', async () => {
    const web = await startWebEngine({ config: testConfig() });
    undo.push(() => web.stop());
    const { jobs } = await web.say('build 2.6 kvm', 'alice');
    expect(jobs).toHaveLength(1);
    await web.engine.core.notifier.whenSettled(jobs);
    await web.say('biuld 2.6 kvm', 'alice');
    await web.say('jobs', 'alice');
    await web.say('revoke 2.6', 'carol'); // a viewer: refused

    const response = await fetch(`${web.web.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(sample(text, 'vmops_commands_total', { outcome: 'done', command: 'build' })).toBe(1);
    expect(sample(text, 'vmops_commands_total', { outcome: 'done', command: 'jobs' })).toBe(1);
    expect(sample(text, 'vmops_commands_total', { outcome: 'refused', command: 'unknown' })).toBe(1);
    expect(sample(text, 'vmops_commands_total', { outcome: 'refused', command: 'revoke' })).toBe(1);
    expect(sample(text, 'vmops_jobs', { stage: 'build', state: 'completed' })).toBe(1);
    expect(sample(text, 'vmops_jobs', { stage: 'build', state: 'waiting' })).toBe(0);
    expect(sample(text, 'vmops_queue_depth', { queue: 'build.kvm' })).toBe(0);
    expect(sample(text, 'vmops_chat_send_seconds_count', { network: 'fake', op: 'send' })).toBeGreaterThan(0);
    expect(sample(text, 'vmops_chat_send_seconds_count', { network: 'fake', op: 'edit' })).toBeGreaterThan(0);
    const age = sample(text, 'vmops_worker_heartbeat_age_seconds', { worker: 'test-worker' });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(15);
    expect(sample(text, 'vmops_up', { network: 'fake' })).toBe(1);
    expect(sample(text, 'vmops_up', { network: 'web' })).toBe(1);
    expect(sample(text, 'vmops_redis_up')).toBe(1);
    // No process metrics in tests, and nothing from prom-client's global registry.
    expect(text).not.toMatch(/^process_cpu/m);
  });

  it('shows queued jobs as queue depth, and rate-limit waits a network asked for', async () => {
    /** A network that refuses the first send with a retry-after, and reports a wait of its own. */
    class LimitedChat extends FakeChat {
      #refused = false;
      #listeners: ((ms: number) => void)[] = [];
      watchRateLimits(listener: (ms: number) => void) {
        this.#listeners.push(listener);
      }
      override async send(...args: Parameters<FakeChat['send']>) {
        if (!this.#refused) {
          this.#refused = true;
          for (const listener of this.#listeners) listener(1500);
          throw Object.assign(new Error('rate limited'), { retryAfterMs: 250 });
        }
        return super.send(...args);
      }
    }
    const chat = new LimitedChat();
    const web = await startWebEngine({ config: testConfig(), worker: false, chat });
    undo.push(() => web.stop());
    const { jobs } = await web.say('build 2.6 kvm xen', 'alice');
    expect(jobs).toHaveLength(2);
    const text = await until(
      async () => {
        const body = await (await fetch(`${web.web.url}/metrics`)).text();
        return (sample(body, 'vmops_chat_rate_limit_wait_seconds_total', { network: 'fake' }) ?? 0) >= 1.75
          ? body
          : undefined;
      },
      { what: 'a rate-limit wait', timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(sample(text, 'vmops_queue_depth', { queue: 'build.kvm' })).toBe(1);
    expect(sample(text, 'vmops_queue_depth', { queue: 'build.xen' })).toBe(1);
    expect(sample(text, 'vmops_queue_depth', { queue: 'test.kvm' })).toBe(0);
    expect(sample(text, 'vmops_jobs', { stage: 'build', state: 'waiting' })).toBe(2);
    expect(sample(text, 'vmops_chat_send_errors_total', { network: 'fake', op: 'send' })).toBe(1);
    expect(sample(text, 'vmops_worker_heartbeat_age_seconds')).toBeUndefined();
  });

  it('asks for the bearer token when web.metricsToken is set; health stays open', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const web = await startWebEngine({
      config: testConfig((c) => {
        c.web.metricsToken = token;
      }),
      worker: false,
    });
    undo.push(() => web.stop());
    const open = await fetch(`${web.web.url}/metrics`);
    expect(open.status).toBe(401);
    expect(open.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await fetch(`${web.web.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${web.web.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('vmops_commands_total');
    expect((await fetch(`${web.web.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${web.web.url}/readyz`)).status).toBe(200);
  });
});

describe('/healthz and /readyz', () => {
  let server: RedisServerHandle | undefined;
  let web: WebEngine | undefined;
  afterEach(async () => {
    await web?.stop();
    await server?.stop();
    web = undefined;
    server = undefined;
  });

  it('turn red when a network is disconnected or Redis is down, and green again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmops-obs-redis-'));
    undo.push(() => rmSync(dir, { recursive: true, force: true }));
    server = await startRedisServer({ dir, appendOnly: false });
    const chat = new FakeChat();
    web = await startWebEngine({ config: testConfig(), redis: server.url, worker: false, chat });
    const get = async (path: string) => {
      const response = await fetch(`${web?.web.url}${path}`);
      return { status: response.status, body: (await response.json()) as { status: string; down: string[] } };
    };
    expect(await get('/healthz')).toMatchObject({ status: 200, body: { status: 'ok', down: [] } });
    expect(await get('/readyz')).toMatchObject({ status: 200, body: { status: 'ok', down: [] } });

    chat.isConnected = false;
    expect(await get('/readyz')).toMatchObject({
      status: 503,
      body: { status: 'down', down: ['network:fake'] },
    });
    expect((await get('/healthz')).status).toBe(200);
    const metricsDown = await (await fetch(`${web.web.url}/metrics`)).text();
    expect(sample(metricsDown, 'vmops_up', { network: 'fake' })).toBe(0);
    chat.isConnected = true;
    expect((await get('/readyz')).status).toBe(200);

    const port = server.port;
    await server.stop();
    const down = await until(
      async () => {
        const health = await get('/healthz');
        return health.status === 503 ? health : undefined;
      },
      { what: '/healthz to fail', timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(down.body).toMatchObject({ status: 'down', down: ['redis'] });
    expect(await get('/readyz')).toMatchObject({ status: 503, body: { down: ['redis'] } });
    // A scrape while Redis is away answers at once, without the Redis figures.
    const started = Date.now();
    const scrape = await fetch(`${web.web.url}/metrics`);
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(sample(text, 'vmops_redis_up')).toBe(0);
    expect(sample(text, 'vmops_queue_depth', { queue: 'build.kvm' })).toBeUndefined();

    server = await startRedisServer({ dir, appendOnly: false, port });
    await until(async () => ((await get('/healthz')).status === 200 ? true : undefined), {
      what: '/healthz to recover',
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    expect((await get('/readyz')).status).toBe(200);
  });
});

describe('trace ids', () => {
  it('one trace id from the chat message through the worker to the status message', async () => {
    const { log, entries } = capturedLogger('info');
    const chat = new FakeChat();
    const config = testConfig();
    const { core } = await startLoggedBot(config, [chat], log);
    const handled: string[] = [];
    await chat.start(async (m) => {
      handled.push(...(await core.handle(m)).jobs);
    });
    const asked = message('build 2.6 kvm', { target: { network: 'fake', room: 'ops', isDirect: false } });
    await chat.deliver({ ...asked, mentioned: true });
    expect(handled).toHaveLength(1);
    const jobId = handled[0] ?? '';
    await core.notifier.whenSettled([jobId]);
    await chat.deliver(message('status', { mentioned: true }));

    const trace = traceOfEvent('fake', asked.eventId);
    expect(trace).toBe(jobId); // one job: the trace id is its id
    const lines = entries().filter((e) => e.trace === trace);
    const said = lines.map((e) => e.msg);
    for (const msg of [
      'message received', // pipeline
      'command done',
      'job started', // worker
      'job succeeded',
      'status message posted', // notifier
      'status message final',
    ]) {
      expect(said, `a "${msg}" line with trace ${trace}`).toContain(msg);
    }
    expect(lines.find((e) => e.msg === 'job started')).toMatchObject({ jobId, worker: 'obs-worker' });
    expect(lines.find((e) => e.msg === 'status message final')).toMatchObject({ jobId, state: 'succeeded' });
    // Every line about the job carries its trace; the next command has its own.
    for (const entry of entries()) if (entry.jobId === jobId) expect(entry.trace).toBe(trace);
    const other = entries().filter((e) => e.msg === 'message received' && e.trace !== trace);
    expect(other).toHaveLength(1);
    expect(
      entries()
        .filter((e) => e.trace === other[0]?.trace)
        .map((e) => e.msg),
    ).toContain('reply sent');
  });
});

describe('secrets in logs', () => {
  it('no token, password or key of the config reaches a log line, even at debug level', async () => {
    const secrets = {
      botToken: 'xoxb-obs-7Q2vKx9pLmN4-bot-secret',
      appToken: 'xapp-1-obs-A0B1C2-app-secret',
      signingSecret: 'obs-signing-secret-5f3e2d1c',
      auditKey: 'obs-audit-key-9a8b7c6d5e4f',
      metricsToken: 'obs-metrics-token-1a2b3c4d5e',
      matrixPassword: 'obs-matrix-password-77',
      xmppPassword: 'obs-xmpp-password-88',
      redisPassword: 'obs-redis-password-99',
      sentinelPassword: 'obs-sentinel-password-66',
      clusterPassword: 'obs-cluster-password-55',
    };
    const slack = await new FakeSlack({ botToken: secrets.botToken, appToken: secrets.appToken }).start();
    undo.push(() => slack.stop());
    // The config as an operator writes it, tokens from the environment, read by the real loader.
    const env = (name: string) => `\${${name}}`;
    const raw = parseYaml(readFileSync(defaultConfigPath, 'utf8')) as Record<string, Record<string, unknown>>;
    raw.networks = {
      ...raw.networks,
      slack: {
        token: env('OBS_SLACK_TOKEN'),
        appToken: env('OBS_SLACK_APP_TOKEN'),
        signingSecret: env('OBS_SLACK_SIGNING'),
        apiUrl: slack.apiUrl,
        minEditInterval: 1,
      },
    };
    const parsed = parseConfig(toYaml(raw), 'obs.yaml', {
      OBS_SLACK_TOKEN: secrets.botToken,
      OBS_SLACK_APP_TOKEN: secrets.appToken,
      OBS_SLACK_SIGNING: secrets.signingSecret,
    });
    const config = testConfig((c) => {
      c.networks.slack = parsed.networks.slack;
      c.audit.key = secrets.auditKey;
      c.web.metricsToken = secrets.metricsToken;
      const alice = c.people.alice;
      if (alice) alice.accounts.slack = 'U0ALICE';
    });
    const { log, lines } = capturedLogger('debug');
    // What main logs at start, and what a careless debug line would: the whole config, other networks' too.
    log.info({ redis: describeTarget(`redis://:${secrets.redisPassword}@redis.example:6379`) }, 'starting');
    log.debug(
      {
        config: {
          ...config,
          redis: {
            ...config.redis,
            url: `redis://:${secrets.redisPassword}@redis.example:6379`,
            sentinel: { password: secrets.redisPassword, sentinelPassword: secrets.sentinelPassword },
            cluster: { password: secrets.clusterPassword },
          },
          networks: {
            ...config.networks,
            matrix: { password: secrets.matrixPassword },
            xmpp: { password: secrets.xmppPassword },
          },
        },
      },
      'config',
    );
    const adapters = await networkAdapters(config, log, redisUrl());
    const { core } = await startLoggedBot(config, adapters, log);
    const handled: string[] = [];
    for (const adapter of adapters) {
      undo.push(() => adapter.stop());
      await adapter.start(async (m) => {
        handled.push(...(await core.handle(m)).jobs);
      });
    }
    // The Slack adapter says when it is connected (for /readyz and vmops_up).
    expect(adapters.map((a) => a.connected?.())).toEqual([true]);
    slack.mention('U0ALICE', 'C0OPS', 'build 2.6 kvm');
    await slack.waitForMessage('C0OPS', /succeeded/, 'the build card', 20_000);
    slack.mention('U0ALICE', 'C0OPS', 'whoami');
    await slack.waitForMessage('C0OPS', /alice/, 'the whoami reply', 20_000);
    expect(handled).toHaveLength(1);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.some((line) => line.includes('"adapter":"slack"'))).toBe(true);
    const leaks = lines.filter((line) => Object.values(secrets).some((secret) => line.includes(secret)));
    expect(leaks).toEqual([]);
    expect(lines.join('\n')).toContain('[redacted]');
    await adapters[0]?.stop();
    expect(adapters[0]?.connected?.()).toBe(false);
  });
});
