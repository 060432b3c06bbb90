// runStepOverSsh against a real OpenSSH server on loopback: output, env, argv verbatim, host keys, stopping.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostConfig } from '../../config/schema.ts';
import { VmopsError } from '../../src/errors.ts';
import { freePort } from '../../src/redis/free-port.ts';
import type { StepDirective } from '../../src/worker/progress-protocol.ts';
import { runStage } from '../../src/worker/run-stage.ts';
import type { StepOutputLine } from '../../src/worker/run-step.ts';
import { type RunStepOverSshOptions, runStepOverSsh } from '../../src/worker/run-step-ssh.ts';
import { type Sshd, startSshd, tagged } from '../helpers/sshd.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'vmops-ssh-executor-'));
const workRoot = join(tmp, 'work');
let sshd: Sshd;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const hostConfig = (overrides: Partial<HostConfig> = {}): HostConfig => ({
  host: '127.0.0.1',
  port: sshd.port,
  user: sshd.user,
  hostKeys: [sshd.hostKeyFingerprint],
  privateKeyFile: sshd.clientKeyFile,
  agent: false,
  repoRoot,
  workRoot,
  connectTimeout: 5000,
  ...overrides,
});

type Extra = Partial<Omit<RunStepOverSshOptions, 'argv'>>;

/** Runs a step on the test sshd as host `build1`, collecting what it printed. */
async function run(argv: string[], extra: Extra = {}) {
  const lines: StepOutputLine[] = [];
  const directives: StepDirective[] = [];
  const outcome = await runStepOverSsh({
    argv,
    cwd: join(tmp, 'local', 'job-1'),
    repoRoot: '/nonexistent/local/repo', // the host's repoRoot applies
    env: {},
    timeoutMs: 15_000,
    host: hostConfig(),
    hostName: 'build1',
    ...extra,
    onLine: (line) => lines.push(line),
    onDirective: (directive) => directives.push(directive),
  });
  const texts = (stream: 'stdout' | 'stderr') => lines.filter((l) => l.stream === stream).map((l) => l.text);
  return { outcome, directives, stdout: texts('stdout'), stderr: texts('stderr') };
}

const waitForSleep = (tag: string, command: string) =>
  vi.waitFor(() => expect(tagged(tag)).toContain(command), { timeout: 8000, interval: 20 });

describe('runStepOverSsh', () => {
  it('streams output and directives of a repository step run in the job directory under workRoot', async () => {
    const env = { VMOPS_DEMO_TICK: '0', VMOPS_STAGE: 'build', VMOPS_PRODUCT: 'cernvm', VMOPS_VERSION: '2.6' };
    const { outcome, stdout, directives } = await run(['recipes/demo/step.sh', 'one'], { env });
    expect(outcome).toMatchObject({ exitCode: 0, signal: null, timedOut: false, cancelled: false });
    expect(stdout).toEqual(['demo one: stage build of cernvm 2.6, format (none)', 'demo one: finished']);
    expect(directives.filter((d) => d.kind === 'progress').map((d) => d.percent)).toEqual([
      0, 25, 50, 75, 100,
    ]);
    expect(directives.filter((d) => d.kind === 'status')).toHaveLength(2);

    const where = await run(['pwd']);
    expect(where.stdout).toEqual([join(workRoot, 'job-1')]);
  });

  it('reports exit codes and the output of a step that fails halfway', async () => {
    expect((await run(['bash', '-c', 'exit 7'])).outcome.exitCode).toBe(7);
    const env = { VMOPS_DEMO_TICK: '0', VMOPS_DEMO_FAIL: 'two' };
    const { outcome, stdout, stderr, directives } = await run(['recipes/demo/step.sh', 'two'], { env });
    expect(outcome).toMatchObject({ exitCode: 3, signal: null, timedOut: false });
    expect(stdout[0]).toMatch(/^demo two: stage/);
    expect(stderr).toContain('demo two: failing on purpose (VMOPS_DEMO_FAIL=two)');
    expect(directives.at(-1)).toEqual({ kind: 'progress', percent: 50, message: 'two: part 3 of 5' });

    const nowhere = await run(['true'], { host: hostConfig({ workRoot: '/proc/no-such-dir' }) });
    expect(nowhere.outcome.exitCode).toBe(127);
    expect(nowhere.stderr).toContain('vmops-ssh: cannot create working directory /proc/no-such-dir/job-1');
  });

  it('passes exactly the step variables and a PATH, none of the worker environment', async () => {
    process.env.VMOPS_SLACK_TOKEN = 'xoxb-secret-of-the-worker';
    try {
      const env = { VMOPS_JOB_ID: 'j42', VMOPS_PARAM_NOTE: `it's "quoted" $HOME $(id) \`id\`` };
      const { stdout } = await run(['env'], { env });
      expect(stdout.sort()).toEqual(
        [...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'PATH=/usr/local/bin:/usr/bin:/bin'].sort(),
      );
      const own = await run(['env'], { env: { PATH: '/bin' } });
      expect(own.stdout).toEqual(['PATH=/bin']);
    } finally {
      delete process.env.VMOPS_SLACK_TOKEN;
    }
  });

  it('passes hostile arguments, values and directory names verbatim and executes none of them', async () => {
    const victim = join(tmp, 'victim');
    mkdirSync(victim, { recursive: true });
    const marker = join(tmp, 'marker');
    const argsFile = join(tmp, 'args');
    const args = [
      `kvm; rm -rf ${victim}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `line one\nline two; touch ${marker}`,
      '-rf',
      `' "; touch ${marker}; echo '`,
      '',
      'x'.repeat(10_000),
    ];
    const job = 'job $(touch marker) `touch marker`; touch marker'; // a basename: no slash
    const { outcome } = await run(['test/fixtures/steps/write-args.sh', ...args], {
      env: { ARGS_FILE: argsFile, VMOPS_PARAM_X: `$(touch ${marker})` },
      cwd: join(tmp, 'local', job),
    });
    expect(outcome.exitCode).toBe(0);
    expect(readFileSync(argsFile, 'utf8').split('\0').slice(0, -1)).toEqual(args);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(victim)).toBe(true);
    expect(readdirSync(join(workRoot, job))).toEqual([]);
    expect(existsSync(join(workRoot, 'marker'))).toBe(false);

    const dash = await run(['-rf', victim]);
    expect(dash.outcome.exitCode).toBe(127); // looked up as a program named "-rf"
    expect(existsSync(victim)).toBe(true);
  });

  it('refuses a host key that is not pinned, naming the key presented, and runs nothing', async () => {
    const marker = join(tmp, 'refused-marker');
    const other = `SHA256:${'A'.repeat(43)}`;
    const { outcome, stderr } = await run(['touch', marker], { host: hostConfig({ hostKeys: [other] }) });
    const text = `host key ${sshd.hostKeyFingerprint} of build1 (127.0.0.1:${sshd.port}) is not one of hosts.build1.hostKeys: refusing to connect`;
    expect(outcome).toMatchObject({ exitCode: 255, startError: text });
    expect(stderr).toEqual([text]);
    expect(existsSync(marker)).toBe(false);
  });

  it('times out: TERM to the remote process group, grandchild included', async () => {
    const tag = randomUUID();
    const running = run(['test/fixtures/steps/sleep-forever.sh'], {
      env: { VMOPS_TEST_TAG: tag },
      // Counted from the connect, which alone takes 2 s on a loaded machine: the grandchild must be up first.
      timeoutMs: 5000,
      killGraceMs: 1000,
    });
    await waitForSleep(tag, 'sleep 600');
    const { outcome, directives } = await running;
    expect(outcome).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: true, cancelled: false });
    expect(directives).toEqual([{ kind: 'progress', percent: 10, message: 'sleeping' }]);
    expect(tagged(tag)).toEqual([]);
  });

  it('cancels: the abort signal stops the remote process group', async () => {
    const tag = randomUUID();
    const controller = new AbortController();
    const running = run(['test/fixtures/steps/sleep-forever.sh'], {
      env: { VMOPS_TEST_TAG: tag },
      signal: controller.signal,
      killGraceMs: 2000,
    });
    await waitForSleep(tag, 'sleep 600');
    controller.abort();
    const { outcome } = await running;
    expect(outcome).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false, cancelled: true });
    expect(tagged(tag)).toEqual([]);
  });

  it('sends KILL after the grace time to a group that ignores TERM', async () => {
    const tag = randomUUID();
    const controller = new AbortController();
    const running = run(['bash', '-c', 'trap "" TERM; sleep 6001 & wait'], {
      env: { VMOPS_TEST_TAG: tag },
      signal: controller.signal,
      killGraceMs: 300,
    });
    await waitForSleep(tag, 'sleep 6001');
    controller.abort();
    const { outcome } = await running;
    expect(outcome).toMatchObject({ exitCode: null, signal: 'SIGKILL', cancelled: true });
    expect(tagged(tag)).toEqual([]);
  });

  it('stops what a step left running in its group when it exits', async () => {
    const tag = randomUUID();
    const script = 'sleep 6002 </dev/null >/dev/null 2>&1 & echo "left $!"';
    const { outcome, stdout } = await run(['bash', '-c', script], {
      env: { VMOPS_TEST_TAG: tag },
      killGraceMs: 1000,
    });
    expect(outcome).toMatchObject({ exitCode: 0, signal: null });
    expect(stdout[0]).toMatch(/^left \d+$/);
    expect(tagged(tag)).toEqual([]);
  });

  it('a step whose connection drops (as when its worker dies) is stopped on the host within seconds', async () => {
    const tag = randomUUID();
    // A TCP relay to sshd that the test cuts, as a killed worker's kernel would close its socket.
    const sockets: Socket[] = [];
    const relay = createServer((inbound) => {
      const outbound = connect(sshd.port, '127.0.0.1');
      sockets.push(inbound, outbound);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((done) => relay.listen(0, '127.0.0.1', done));
    try {
      const port = (relay.address() as { port: number }).port;
      const running = run(['test/fixtures/steps/sleep-forever.sh'], {
        env: { VMOPS_TEST_TAG: tag },
        host: hostConfig({ port }),
        timeoutMs: 120_000,
      });
      await waitForSleep(tag, 'sleep 600');
      for (const socket of sockets) socket.destroy();
      const { outcome, stderr } = await running;
      expect(outcome).toMatchObject({ exitCode: 255, timedOut: false, cancelled: false });
      expect(stderr.at(-1)).toMatch(/^lost the connection to build1 .* before the step ended/);
      // The watchdog looks once a second; TERM ends this step at once.
      await vi.waitFor(() => expect(tagged(tag)).toEqual([]), { timeout: 8000, interval: 100 });
    } finally {
      for (const socket of sockets) socket.destroy();
      relay.close();
    }
  });

  it('does not connect when cancelled before the start', async () => {
    const controller = new AbortController();
    controller.abort();
    const { outcome, stderr } = await run(['true'], {
      signal: controller.signal,
      host: hostConfig({ port: 1 }),
    });
    expect(outcome).toMatchObject({ exitCode: null, cancelled: true });
    expect(stderr).toEqual([]);
  });

  it('stops connecting when cancelled while the connection is being made', async () => {
    const controller = new AbortController();
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
      controller.abort();
    });
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    try {
      const port = (silent.address() as { port: number }).port;
      const { outcome, stderr } = await run(['true'], {
        signal: controller.signal,
        host: hostConfig({ port }),
      });
      expect(outcome).toMatchObject({ exitCode: null, signal: null, cancelled: true });
      expect(stderr).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('fails clearly when the port is closed, the handshake never comes or the login is refused', async () => {
    const port = await freePort();
    const closed = await run(['true'], { host: hostConfig({ port }) });
    expect(closed.outcome.exitCode).toBe(255);
    expect(closed.stderr).toEqual([
      `cannot connect to build1 (127.0.0.1:${port}): connect ECONNREFUSED 127.0.0.1:${port}`,
    ]);

    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      const mute = await run(['true'], { host: hostConfig({ port: silentPort, connectTimeout: 300 }) });
      expect(mute.outcome.exitCode).toBe(255);
      expect(mute.stderr).toEqual([
        `cannot connect to build1 (127.0.0.1:${silentPort}): no SSH handshake within 300 ms`,
      ]);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }

    const denied = await run(['true'], { host: hostConfig({ privateKeyFile: sshd.otherKeyFile }) });
    expect(denied.outcome.exitCode).toBe(255);
    expect(denied.stderr[0]).toMatch(
      /^cannot log in to build1 \(127\.0\.0\.1:\d+\) as \w+: All configured authentication/,
    );
  });

  it('runStage runs a step with `host` over SSH and the others locally', async () => {
    const log: string[] = [];
    const localCwd = join(tmp, 'local', 'job-stage');
    mkdirSync(localCwd, { recursive: true });
    await runStage({
      steps: [
        { name: 'here', run: ['pwd'] },
        { name: 'there', run: ['pwd'], host: 'build1' },
      ],
      params: { VMOPS_JOB_ID: 'job-stage' },
      cwd: localCwd,
      repoRoot,
      defaultTimeoutMs: 10_000,
      hosts: { build1: hostConfig() },
      onLog: (line) => log.push(line),
    });
    expect(log).toContain(localCwd);
    expect(log).toContain(join(workRoot, 'job-stage'));

    const missing = await runStage({
      steps: [{ name: 'there', run: ['pwd'], host: 'build2' }],
      params: {},
      cwd: localCwd,
      repoRoot,
      defaultTimeoutMs: 10_000,
      hosts: { build1: hostConfig() },
    }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(VmopsError);
    expect(missing).toMatchObject({ code: 'step_failed' });
  });
});
