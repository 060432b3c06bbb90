// The terminal as a chat network, for local mode. On a terminal it shows a prompt and redraws a status
// message's line in place; on a pipe it reads one command a line (lines starting with # are comments),
// echoes it, and prints every edit as a new plain line. `/as <name>` switches the account speaking, so
// one terminal can play an operator and an approver. Holds no policy: accounts are just names.

import { randomBytes } from 'node:crypto';
import { clearLine, createInterface, cursorTo, type Interface, moveCursor } from 'node:readline';
import stringWidth from 'string-width';
import { renderUntrusted } from '../src/render/untrusted.ts';
import type {
  AdapterLimits,
  ChatAdapter,
  ChatTarget,
  IncomingMessage,
  MessageRef,
  Reply,
} from '../src/types.ts';

export interface ShellAdapterOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream & { columns?: number; rows?: number };
  /** A terminal (prompt, in-place redraws) rather than a pipe. */
  interactive: boolean;
  /** The account speaking at start. */
  as: string;
  now?: () => number;
}

const ROOM: ChatTarget = { network: 'shell', room: 'tty', isDirect: true };
/** Room of a direct message to one account (`@bob`), shown on the same terminal. */
const DIRECT_PREFIX = '@';

interface Printed {
  line: number;
  height: number;
  text: string;
}

export class ShellAdapter implements ChatAdapter {
  readonly network = 'shell';
  readonly limits: AdapterLimits;
  /** Resolves when the input has ended (Ctrl-D, end of the pipe, /quit) and every line was handled. */
  readonly ended: Promise<void>;
  readonly #options: ShellAdapterOptions;
  readonly #session = randomBytes(4).toString('hex');
  readonly #printed = new Map<string, Printed>();
  #markEnded: () => void = () => undefined;
  #as: string;
  #lines = 0;
  #sequence = 0;
  #readline: Interface | undefined;
  #stopped = false;
  /** The terminal no longer reads lines: no prompt to redraw. */
  #inputClosed = false;

  constructor(options: ShellAdapterOptions) {
    this.#options = options;
    this.#as = options.as;
    this.limits = {
      canEdit: true,
      minEditIntervalMs: options.interactive ? 200 : 1000,
      maxMessageLength: 20_000,
    };
    this.ended = new Promise((resolve) => {
      this.#markEnded = resolve;
    });
  }

  /** Says something in the terminal that is not a reply to a command (start-up, shutdown). */
  notice(text: string): void {
    this.#write(text);
  }

  /** The account now speaking. */
  get speaker(): string {
    return this.#as;
  }

  async start(onMessage: (message: IncomingMessage) => Promise<void>): Promise<void> {
    const { input, output, interactive } = this.#options;
    const rl = createInterface({ input, output: interactive ? output : undefined, terminal: interactive });
    this.#readline = rl;
    // Count the rows a typed line took as it is typed, not when the loop below gets to it.
    if (interactive) rl.on('line', (typed) => this.#countRows(`${this.#as}> ${typed}`));
    // Ctrl-C at the prompt ends the input like Ctrl-D; vmops then stops and says what it waits for.
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => {
      this.#inputClosed = true;
    });
    this.#setPrompt();
    if (interactive) rl.prompt();
    void (async () => {
      let n = 0;
      for await (const raw of rl) {
        if (this.#stopped) break;
        const line = raw.trim();
        if (line === '' || (!interactive && line.startsWith('#'))) {
          if (interactive) rl.prompt();
          continue;
        }
        if (!interactive) this.#write(`${this.#as}> ${line}`);
        if (line === '/quit' || line === '/exit') break;
        if (line === '/as' || line.startsWith('/as ')) {
          this.#switch(line.slice(3).trim());
          if (interactive) rl.prompt();
          continue;
        }
        n += 1;
        try {
          await onMessage({
            eventId: `${this.#session}-${n}`,
            sender: { id: this.#as, displayName: this.#as, isBot: false, isSelf: false },
            target: ROOM,
            text: line,
            mentioned: false,
            sentAt: (this.#options.now ?? Date.now)(),
          });
        } catch (error) {
          this.#write(`vmops: that line could not be handled (${(error as Error).message})`);
        }
        if (interactive) rl.prompt();
      }
      this.#markEnded();
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#readline?.close();
    this.#markEnded();
  }

  /** The terminal is always there. */
  connected(): boolean {
    return true;
  }

  /** The terminal is one screen for every account: a direct message to one is shown with its name. */
  directTarget(account: string): ChatTarget {
    return { network: this.network, room: `${DIRECT_PREFIX}${account}`, isDirect: true };
  }

  async send(target: ChatTarget, reply: Reply): Promise<MessageRef> {
    this.#sequence += 1;
    const id = String(this.#sequence);
    const to = target.room.startsWith(DIRECT_PREFIX) ? target.room.slice(DIRECT_PREFIX.length) : undefined;
    const text = this.#fit(to === undefined ? reply : { ...reply, text: `(to ${to}) ${reply.text}` });
    this.#printed.set(id, { line: this.#lines, height: this.#rowsOf(text), text });
    this.#write(text);
    return { network: this.network, room: target.room, id };
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    const text = this.#fit(reply);
    const printed = this.#printed.get(ref.id);
    if (printed?.text === text) return;
    const output = this.#options.output;
    const rows = output.rows ?? 24;
    const up = printed ? this.#lines - printed.line : Number.POSITIVE_INFINITY;
    if (
      !this.#options.interactive ||
      !printed ||
      printed.height !== 1 ||
      this.#rowsOf(text) !== 1 ||
      up >= rows - 1
    ) {
      this.#printed.set(ref.id, { line: this.#lines, height: this.#rowsOf(text), text });
      this.#write(text);
      return;
    }
    // Redraw the message's own line, then put the cursor back on the prompt line.
    cursorTo(output, 0);
    moveCursor(output, 0, -up);
    clearLine(output, 0);
    output.write(text);
    cursorTo(output, 0);
    moveCursor(output, 0, up);
    printed.text = text;
    if (!this.#inputClosed) this.#readline?.prompt(true);
  }

  #switch(name: string): void {
    if (name === '') {
      this.#write(`you are speaking as ${this.#as}`);
      return;
    }
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) {
      this.#write(`/as needs an account name (letters, digits, . _ - @), e.g. /as bob`);
      return;
    }
    this.#as = name;
    this.#setPrompt();
    this.#write(`you are now speaking as ${name}`);
  }

  #setPrompt(): void {
    this.#readline?.setPrompt(`${this.#as}> `);
  }

  /** On a terminal a status line is cut to the width (in columns, emoji count two), so a redraw never wraps. */
  #fit(reply: Reply): string {
    // Nothing raw reaches the terminal: an escape sequence in a name, a step's output or an echoed
    // word would retitle the window, recolour it or move the cursor. Shown escaped instead.
    const text = renderUntrusted(reply.text, 'terminal');
    const width = this.#options.output.columns;
    if (!this.#options.interactive || !width || !reply.status || stringWidth(text) < width) return text;
    const chars = Array.from(text);
    while (chars.length > 0 && stringWidth(`${chars.join('')}…`) >= width) chars.pop();
    return `${chars.join('')}…`;
  }

  /** Terminal rows a text takes, wrapped at the terminal's width. */
  #rowsOf(text: string): number {
    const width = this.#options.output.columns || 80;
    return text
      .split('\n')
      .reduce((rows, line) => rows + Math.max(1, Math.ceil(stringWidth(line) / width)), 0);
  }

  #countRows(text: string): void {
    this.#lines += this.#rowsOf(text);
  }

  #write(raw: string): void {
    const text = renderUntrusted(raw, 'terminal');
    const output = this.#options.output;
    if (this.#options.interactive) {
      cursorTo(output, 0);
      clearLine(output, 0);
    }
    output.write(`${text}\n`);
    this.#countRows(text);
    if (this.#options.interactive && !this.#inputClosed) this.#readline?.prompt(true);
  }
}
