// Runs one recipe step on an SSH build host: argv, env and working directory go over stdin to a fixed remote program.
import { readFileSync } from 'node:fs';
import { basename, posix } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { HostConfig } from '../../config/schema.ts';
import { handleStdoutLine, type RunStepOptions, readLines, type StepOutcome } from './run-step.ts';

export interface RunStepOverSshOptions extends RunStepOptions {
  /** The build host; `cwd`'s last component becomes the job directory under its `workRoot`. */
  host: HostConfig;
  /** Its key under `hosts`, for messages. */
  hostName: string;
}

/** PATH of a remote step unless its variables set one. */
const REMOTE_PATH = '/usr/local/bin:/usr/bin:/bin';
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Longest wait for one kill command on the remote side. */
const KILL_COMMAND_LIMIT_MS = 10_000;
/** How often the group is checked after TERM, once the channel has closed. */
const GROUP_POLL_MS = 100;
const PROTOCOL = 'vmops-step-1';
const PGID_LINE = /^vmops-ssh-pgid ([0-9]{1,10})$/;

/** How long the remote watchdog lets a step's group end after TERM before it sends KILL (s). */
const WATCHDOG_GRACE_S = 5;

/**
 * The remote program (bash, no single quote in it). It reads NUL-terminated fields from stdin: the
 * protocol name, the working directory, the number of variables, each NAME=VALUE, the number of
 * arguments, each argument. Then it creates and enters the directory, prints its process group id
 * (its pid, once it leads its own group) and becomes `env -i VARIABLES... ARGV...`.
 *
 * Before that it leaves a watchdog behind, in a session of its own, holding none of the channel's
 * streams: once a second it looks whether the sshd process that runs this session is still there. A
 * step outlives its channel when the worker dies (SIGKILL, a crash) or the connection drops, since
 * sshd sends no signal to a session without a terminal: when that sshd is gone (read in /proc, where
 * there is none the watchdog does not start) while the step's group
 * still has members, the watchdog sends TERM to the group, then KILL after a grace time. It ends by
 * itself as soon as the group is empty.
 */
// biome-ignore-start lint/suspicious/noTemplateCurlyInString: bash parameter expansions, not placeholders
const REMOTE_SCRIPT = [
  'set -u',
  'fail() { printf "vmops-ssh: %s\\n" "$2" >&2; exit "$1"; }',
  'field() { IFS= read -r -d "" "$1" || fail 125 "step parameters cut short"; }',
  'count() { field "$1"; [[ ${!1} =~ ^[0-9]{1,6}$ ]] || fail 125 "bad step parameters"; }',
  `field magic; [[ $magic == ${PROTOCOL} ]] || fail 125 "unknown step parameter format"`,
  'field dir',
  'count n; vars=(); for ((i = 0; i < n; i++)); do field v; vars+=("$v"); done',
  'count n; argv=(); for ((i = 0; i < n; i++)); do field v; argv+=("$v"); done',
  '(( ${#argv[@]} > 0 )) || fail 125 "no program given"',
  '[[ ${argv[0]} == */* && ${argv[0]} != /* ]] && argv[0]=$PWD/${argv[0]}',
  'mkdir -p -- "$dir" && cd -- "$dir" || fail 127 "cannot create working directory $dir"',
  'stat=(); read -r -a stat 2>/dev/null </proc/$$/stat',
  'start=(); [[ ${stat[4]:-} == "$$" ]] || start=(setsid)',
  // $1: the sshd process of this session; $2: the step's process group (this pid, which it keeps).
  'watch() {',
  '  while sleep 1 && [[ -d /proc/$1 ]] && kill -s 0 -- "-$2" 2>/dev/null; do :; done',
  '  kill -s 0 -- "-$2" 2>/dev/null || exit 0',
  '  kill -s TERM -- "-$2"',
  `  for ((i = 0; i < ${WATCHDOG_GRACE_S * 4}; i++)); do sleep 0.25; kill -s 0 -- "-$2" 2>/dev/null || exit 0; done`,
  '  kill -s KILL -- "-$2"',
  '}',
  '[[ -d /proc/$PPID ]] && (exec setsid bash --noprofile --norc -c "$(declare -f watch); watch \\"\\$@\\"" vmops-watch "$PPID" "$$" </dev/null >/dev/null 2>&1 &)',
  'exec "${start[@]}" bash --noprofile --norc -c "printf \\"vmops-ssh-pgid %s\\\\n\\" \\"\\$\\$\\"; exec env -i -- \\"\\$@\\"" vmops-step "${vars[@]}" "${argv[@]}"',
].join('\n');
// biome-ignore-end lint/suspicious/noTemplateCurlyInString: bash parameter expansions, not placeholders
if (REMOTE_SCRIPT.includes("'")) throw new Error('the remote step program must not contain a single quote');

/** The only command string sent to a build host: a constant, with no job or user data in it. */
export const REMOTE_COMMAND = `exec bash --noprofile --norc -c '${REMOTE_SCRIPT}' vmops-step`;

/** What goes to the remote program's stdin: the step's working directory, variables and argv. */
export function encodeStepRequest(
  cwd: string,
  env: Readonly<Record<string, string>>,
  argv: readonly string[],
): Buffer {
  const vars = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  const fields = [PROTOCOL, cwd, String(vars.length), ...vars, String(argv.length), ...argv];
  return Buffer.from(fields.map((field) => `${field}\0`).join(''), 'utf8');
}

/** `SHA256:` and unpadded base64, as `ssh-keygen -lf` prints it, from ssh2's hex digest. */
export function opensshFingerprint(hexDigest: string): string {
  return `SHA256:${Buffer.from(hexDigest, 'hex').toString('base64').replace(/=+$/, '')}`;
}

/** Runs the step on the host to its end, like runStep; resolves once it ended and the connection is closed. Never rejects. */
export function runStepOverSsh(options: RunStepOverSshOptions): Promise<StepOutcome> {
  const startedAt = performance.now();
  const { host, hostName, signal } = options;
  const where = `${hostName} (${host.host}:${host.port})`;
  const artifacts: string[] = [];
  const reports: string[] = [];
  let timedOut = false;
  let cancelled = false;
  const outcome = (exitCode: number | null, exitSignal: string | null, startError?: string): StepOutcome => ({
    exitCode,
    signal: exitSignal,
    durationMs: Math.round(performance.now() - startedAt),
    timedOut,
    cancelled,
    artifacts,
    reports,
    ...(startError === undefined ? {} : { startError }),
  });
  const refuse = (text: string, exitCode: number): StepOutcome => {
    options.onLine?.({ stream: 'stderr', text });
    return outcome(exitCode, null, text);
  };

  if (signal?.aborted) {
    cancelled = true;
    return Promise.resolve(outcome(null, null));
  }
  const request = prepareRequest(options);
  if ('error' in request) return Promise.resolve(refuse(request.error, 126));
  const credentials = loginCredentials(host, hostName);
  if ('error' in credentials) return Promise.resolve(refuse(credentials.error, 255));

  return new Promise((settle) => {
    const conn = new Client();
    const grace = options.killGraceMs ?? 5000;
    let phase: 'connecting' | 'running' | 'ending' | 'done' = 'connecting';
    let presentedKey: string | undefined;
    let keyRefused = false;
    let pgid: string | undefined;
    let exit: { code: number | null; signal: string | null } | undefined;
    let lostReason: string | undefined;
    let stopWanted = false;
    let termed: Promise<boolean> | undefined;
    let stopping: Promise<void> | undefined;
    let groupGone = false;
    let graceOver = false;
    let skipGrace: (() => void) | undefined;
    let forceTimer: NodeJS.Timeout | undefined;

    const done = (result: StepOutcome) => {
      if (phase === 'done') return;
      const wasConnecting = phase === 'connecting';
      phase = 'done';
      clearTimeout(timeoutTimer);
      clearTimeout(forceTimer);
      signal?.removeEventListener('abort', onAbort);
      if (wasConnecting) conn.destroy();
      else conn.end();
      settle(result);
    };
    const fail = (text: string) => done(refuse(text, 255));

    /** TERM to the step's process group if it still has members, KILL after the grace time if it still has then. */
    const stopGroup = () => {
      if (stopping !== undefined || pgid === undefined) return;
      const group = pgid;
      clearTimeout(forceTimer);
      forceTimer = undefined;
      const sent = signalGroup(conn, group, 'TERM');
      termed = sent;
      stopping = (async () => {
        if (!(await sent) || groupGone) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, grace);
          skipGrace = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        graceOver = true;
        if (groupGone) return;
        await signalGroup(conn, group, 'KILL');
        endLater(); // only a process outside the group can still hold the channel open
      })();
    };
    /** Gives up on the channel after the grace time: the step cannot be stopped through its group. */
    const endLater = () => {
      if (forceTimer !== undefined || phase !== 'running') return;
      forceTimer = setTimeout(() => {
        lostReason ??= 'the step did not end after it was stopped';
        void finish();
      }, grace);
    };
    const requestStop = () => {
      stopWanted = true;
      if (phase === 'connecting') done(outcome(null, null));
      else if (pgid !== undefined) stopGroup();
      else endLater();
    };
    const timeoutTimer = setTimeout(
      () => {
        if (phase === 'done' || exit !== undefined || cancelled) return;
        timedOut = true;
        requestStop();
      },
      Math.min(Math.max(options.timeoutMs, 0), MAX_TIMER_MS),
    );
    const onAbort = () => {
      if (phase === 'done' || exit !== undefined || timedOut) return;
      cancelled = true;
      requestStop();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    /** The end of the channel (or of the connection): waits for the group to be stopped, then settles. */
    const finish = async () => {
      if (phase !== 'running') return;
      phase = 'ending';
      if (termed !== undefined && pgid !== undefined && (await termed)) {
        // The group had members when TERM went out: watch it empty, or wait for the KILL.
        while (!graceOver) {
          if (!(await groupAlive(conn, pgid))) {
            groupGone = true;
            skipGrace?.();
            break;
          }
          await delay(GROUP_POLL_MS);
        }
      }
      await stopping;
      if (exit !== undefined) done(outcome(exit.code, exit.signal));
      else if (timedOut || cancelled) done(outcome(null, null));
      else
        fail(`lost the connection to ${where} before the step ended${lostReason ? `: ${lostReason}` : ''}`);
    };

    const onStdout = (text: string, cut: boolean) => {
      if (pgid === undefined && !cut) {
        const group = PGID_LINE.exec(text)?.[1];
        if (group !== undefined && Number(group) > 1) {
          pgid = group;
          if (stopWanted || exit !== undefined) stopGroup();
          return;
        }
      }
      handleStdoutLine(options, { artifacts, reports }, text, cut);
    };
    const start = (channel: ClientChannel) => {
      const maxLineLength = options.maxLineLength ?? 4096;
      readLines(channel, maxLineLength, onStdout);
      readLines(channel.stderr, maxLineLength, (text) => options.onLine?.({ stream: 'stderr', text }));
      channel.once('exit', (code: number | null, exitSignal?: string) => {
        exit = { code: code ?? null, signal: code === null ? (exitSignal ?? null) : null };
        clearTimeout(timeoutTimer);
        stopGroup(); // what the step left running in its group ends with the step
      });
      channel.once('close', () => void finish());
      channel.end(request.payload); // the parameters, then EOF: the step reads an empty stdin
    };

    conn.on('ready', () => {
      if (phase !== 'connecting') return;
      phase = 'running';
      try {
        conn.exec(REMOTE_COMMAND, (error, channel) => {
          if (error) fail(`cannot start the step on ${where}: ${error.message}`);
          else if (phase === 'running') start(channel);
        });
      } catch (error) {
        fail(`cannot start the step on ${where}: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    conn.on('error', (error: Error & { level?: string }) => {
      if (phase === 'connecting')
        fail(connectError(error, where, hostName, host, keyRefused ? presentedKey : undefined));
      else lostReason ??= error.message;
    });
    conn.on('close', () => {
      if (phase === 'connecting') fail(`cannot connect to ${where}: the connection closed`);
      else {
        lostReason ??= 'the connection closed';
        void finish();
      }
    });
    conn.connect({
      host: host.host,
      port: host.port,
      username: host.user,
      readyTimeout: host.connectTimeout,
      hostHash: 'sha256',
      hostVerifier: (hexDigest: string) => {
        presentedKey = opensshFingerprint(hexDigest);
        keyRefused = !host.hostKeys.includes(presentedKey);
        return !keyRefused;
      },
      ...credentials.config,
    });
  });
}

/** Checks and encodes what the remote program needs; an error names what cannot be sent. */
function prepareRequest(options: RunStepOverSshOptions): { payload: Buffer } | { error: string } {
  const [program, ...args] = options.argv;
  if (program === undefined) return { error: 'cannot run (empty command): no program given' };
  const env: Record<string, string> = { PATH: REMOTE_PATH, ...options.env };
  const fields = [options.cwd, ...options.argv, ...Object.entries(env).flat()];
  if (fields.some((field) => field.includes('\0')))
    return { error: `cannot run ${program}: a NUL byte in an argument` };
  const badName = Object.keys(env).find((name) => name === '' || name.includes('='));
  if (badName !== undefined) return { error: `cannot run ${program}: "${badName}" is not a variable name` };
  if (program.includes('='))
    return { error: `cannot run ${program}: a program name with "=" cannot be run over SSH` };
  const job = basename(options.cwd);
  if (job === '' || job === '.' || job === '..')
    return { error: `cannot run ${program}: no job directory in ${options.cwd}` };
  const resolved =
    program.includes('/') && !program.startsWith('/') ? posix.join(options.host.repoRoot, program) : program;
  const cwd = posix.join(options.host.workRoot, job);
  return { payload: encodeStepRequest(cwd, env, [resolved, ...args]) };
}

/** How to log in: the private key file's content and/or the agent socket. */
function loginCredentials(
  host: HostConfig,
  hostName: string,
): { config: Pick<ConnectConfig, 'privateKey' | 'agent'> } | { error: string } {
  const config: Pick<ConnectConfig, 'privateKey' | 'agent'> = {};
  if (host.privateKeyFile !== undefined) {
    try {
      config.privateKey = readFileSync(host.privateKeyFile);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      return { error: `cannot read hosts.${hostName}.privateKeyFile ${host.privateKeyFile}: ${reason}` };
    }
  }
  if (host.agent) {
    const socket = process.env.SSH_AUTH_SOCK;
    if (socket === undefined || socket === '') {
      if (config.privateKey === undefined)
        return { error: `hosts.${hostName} uses the SSH agent, but SSH_AUTH_SOCK is not set` };
    } else config.agent = socket;
  }
  return { config };
}

/** A person-readable reason why the connection or login failed. */
function connectError(
  error: Error & { level?: string },
  where: string,
  hostName: string,
  host: HostConfig,
  refusedKey: string | undefined,
): string {
  if (refusedKey !== undefined) {
    return `host key ${refusedKey} of ${where} is not one of hosts.${hostName}.hostKeys: refusing to connect`;
  }
  if (error.level === 'client-authentication')
    return `cannot log in to ${where} as ${host.user}: ${error.message}`;
  if (error.level === 'client-timeout') {
    return `cannot connect to ${where}: no SSH handshake within ${host.connectTimeout} ms`;
  }
  return `cannot connect to ${where}: ${error.message}`;
}

/** Sends a signal to a remote process group if it has members; true when it had. */
async function signalGroup(conn: Client, pgid: string, signal: 'TERM' | 'KILL'): Promise<boolean> {
  return (
    (await remoteStatus(conn, `kill -s 0 -- -${pgid} 2>/dev/null && kill -s ${signal} -- -${pgid}`)) === 0
  );
}

function groupAlive(conn: Client, pgid: string): Promise<boolean> {
  return remoteStatus(conn, `kill -s 0 -- -${pgid} 2>/dev/null`).then((status) => status === 0);
}

/** Runs a constant command (only a validated number in it) on the connection; its exit status, or null. */
function remoteStatus(conn: Client, command: string): Promise<number | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), KILL_COMMAND_LIMIT_MS);
    const end = (status: number | null) => {
      clearTimeout(timer);
      resolve(status);
    };
    try {
      conn.exec(command, (error, channel) => {
        if (error) {
          end(null);
          return;
        }
        let status: number | null = null;
        channel.once('exit', (code: number | null) => {
          status = code;
        });
        channel.once('close', () => end(status));
        channel.resume();
        channel.stderr.resume();
        channel.end();
      });
    } catch {
      end(null); // not connected any more
    }
  });
}
