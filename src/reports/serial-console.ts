// Reads a VM's serial console as it boots: keeps the last lines for a failure report, notices the
// getty's `login:` prompt (it has no newline, so a line reader would wait for it forever), a kernel
// panic or a boot loader that cannot go on, the guest's TAP test stream, and the guest powering off.
// `watchSerial` applies a hard deadline to a console stream; the QEMU process around it is the
// caller's (see recipes/cernvm/boot-test.ts).
import type { Readable } from 'node:stream';

/** Console lines that mean the boot cannot succeed any more: no point waiting for the deadline. */
const FATAL = [
  /Kernel panic - not syncing/,
  /Could not find kernel image/,
  /^Loading \S+\.\.\. ?failed\b/,
  /No bootable device/,
  /Boot failed: /,
  /Gave up waiting for root file system device/,
  /ALERT! .* does not exist\. {2}Dropping to a shell!/,
];
/** The prompt of a getty: `cernvm login: `. */
const LOGIN = /\blogin: ?$/;
/** What the kernel prints last when the guest powers off. */
const POWER_OFF = /reboot: Power down/;
const TAP_PLAN = /^1\.\.(\d+)\s*$/;
const TAP_POINT = /^(?:not )?ok\b/;
const ESCAPES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are what it removes
  /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b[()][0-9A-Za-z]|\u001b[=>c]|[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** How a watched boot ended. */
export type BootEnd =
  /** The guest's TAP stream was complete (its plan's count of test points arrived). */
  | 'tap-complete'
  /** The console stream ended (QEMU exited: the guest powered off, or QEMU failed). */
  | 'exited'
  /** A kernel panic, or a boot loader or initramfs that gave up. */
  | 'fatal'
  /** A login prompt appeared, and the watch was asked to stop there (`stopAtLogin`). */
  | 'login'
  /** The deadline passed first. */
  | 'timeout';

export interface ConsoleState {
  /** The guest's TAP lines (from its plan on: plan, test points, comments). */
  tap: string[];
  /** The plan's count, once the plan was seen. */
  planned?: number;
  /** Test points seen after the plan. */
  points: number;
  /** A getty login prompt appeared. */
  login: boolean;
  /** The kernel said it powers down. */
  poweredOff: boolean;
  /** The first fatal line, if any. */
  fatal?: string;
}

/** A serial console, fed chunk by chunk. */
export class SerialConsole {
  readonly state: ConsoleState = { tap: [], points: 0, login: false, poweredOff: false };
  readonly #keep: number;
  readonly #lines: string[] = [];
  #partial = '';

  /** `keep`: how many of the last lines `tail` can give. */
  constructor(keep = 40) {
    this.#keep = keep;
  }

  /** Takes more console output; returns the complete lines it finished (escape sequences removed). */
  feed(chunk: string): string[] {
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() ?? '';
    const done = parts.map(clean);
    for (const line of done) this.#line(line);
    // The prompt is a partial line: look at it now, not when a newline comes (it never does).
    if (LOGIN.test(clean(this.#partial))) this.state.login = true;
    return done;
  }

  /** The TAP stream is complete: a plan, and as many test points as it announced. */
  get tapComplete(): boolean {
    return this.state.planned !== undefined && this.state.points >= this.state.planned;
  }

  /** The last lines, the unfinished one included. */
  tail(count = this.#keep): string[] {
    const partial = clean(this.#partial);
    const lines = partial === '' ? this.#lines : [...this.#lines, partial];
    return lines.slice(-count);
  }

  #line(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#keep) this.#lines.shift();
    if (LOGIN.test(line)) this.state.login = true;
    if (POWER_OFF.test(line)) this.state.poweredOff = true;
    if (this.state.fatal === undefined && FATAL.some((re) => re.test(line))) this.state.fatal = line.trim();
    const plan = TAP_PLAN.exec(line);
    if (plan && this.state.planned === undefined) {
      this.state.planned = Number(plan[1]);
      this.state.tap.push(line);
      return;
    }
    if (this.state.planned === undefined) return;
    if (TAP_POINT.test(line)) {
      this.state.points++;
      this.state.tap.push(line);
    } else if (line.startsWith('#') && !this.tapComplete) {
      this.state.tap.push(line);
    }
  }
}

function clean(line: string): string {
  return line.replace(/\r/g, '').replace(ESCAPES, '').trimEnd();
}

export interface WatchOptions {
  /** Hard deadline for the whole boot, in ms. */
  timeoutMs: number;
  /** Once the TAP stream is complete, wait this long for the power-off (default 60 s). */
  powerOffMs?: number;
  /** End the watch as soon as a login prompt appears (a boot to login, no self-test). */
  stopAtLogin?: boolean;
  /** Every complete console line, as it comes. */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface WatchResult {
  end: BootEnd;
  console: SerialConsole;
  /** From the start of watching to the end, in ms. */
  durationMs: number;
}

/**
 * Watches a console stream until it ends, shows a fatal line, or the deadline passes. When the guest's
 * TAP stream is complete it waits (up to `powerOffMs`) for the stream to end, which is the guest
 * powering off; `end` is then `exited`, or `tap-complete` if it did not power off in time.
 */
export function watchSerial(stream: Readable, options: WatchOptions): Promise<WatchResult> {
  const console = new SerialConsole();
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let powerOffTimer: NodeJS.Timeout | undefined;
    const finish = (end: BootEnd) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(powerOffTimer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onEnd);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ end, console, durationMs: Math.round(performance.now() - started) });
    };
    const onData = (chunk: Buffer | string) => {
      for (const line of console.feed(chunk.toString())) options.onLine?.(line);
      if (console.state.fatal !== undefined) finish('fatal');
      else if (options.stopAtLogin && console.state.login) finish('login');
      else if (console.tapComplete && powerOffTimer === undefined)
        powerOffTimer = setTimeout(() => finish('tap-complete'), options.powerOffMs ?? 60_000);
    };
    const onEnd = () => finish('exited');
    const onAbort = () => finish('timeout');
    const deadline = setTimeout(() => finish('timeout'), options.timeoutMs);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onEnd);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
