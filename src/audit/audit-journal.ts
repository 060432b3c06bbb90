// The audit trail's anchor outside Redis: each process appends, for every entry it adds to the chain,
// one line (sequence number, entry hash, stream id, time) to its own file under the data directory,
// and fsyncs it. Someone who can rewrite the Redis stream and its head (remove the newest entries, forge
// a head) cannot reach these files, so `audit verify` compares the chain with them and names what is
// gone. Lines are written in groups (one write and one fsync for all appends of a moment), so an append
// keeps its single Redis round trip; `flush()` waits until everything noted is on disk.
import { mkdirSync } from 'node:fs';
import { type FileHandle, open, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One anchored entry. */
export interface AuditAnchor {
  /** The entry's sequence number in the chain (1 for the first anchored one). */
  seq: number;
  /** The entry's hash. */
  hash: string;
  /** Its stream id. */
  id: string;
  /** When it was appended (ISO). */
  at: string;
}

/** The anchors of one journal file, by the process that wrote it. */
export interface JournalAnchors {
  /** File name (`journal-<process>.jsonl`). */
  file: string;
  anchors: AuditAnchor[];
}

const FILE = /^journal-[A-Za-z0-9._-]+\.jsonl$/;

/** The journal file name of a process: `journal-<process>.jsonl`, the name made safe. */
export const journalFile = (processName: string): string =>
  `journal-${processName.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`;

export class AuditJournal {
  readonly #path: string;
  #handle: Promise<FileHandle> | undefined;
  #pending: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #scheduled = false;
  readonly #onError: (error: unknown) => void;

  /** A journal for this process in `dir` (created 0700, the file 0600); write failures go to `onError`. */
  constructor(dir: string, processName: string, onError: (error: unknown) => void = () => undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#path = join(dir, journalFile(processName));
    this.#onError = onError;
  }

  get path(): string {
    return this.#path;
  }

  /** The directory of the journals (this process's and the others' on this host). */
  get dir(): string {
    return dirname(this.#path);
  }

  /** Notes an entry the chain took; it reaches the disk with the next group write. */
  note(anchor: AuditAnchor): void {
    this.#pending.push(`${JSON.stringify(anchor)}\n`);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Everything noted until the current write ends goes in the next one.
    this.#writing = this.#writing.then(() => this.#write()).catch(this.#onError);
  }

  async #write(): Promise<void> {
    this.#scheduled = false;
    const lines = this.#pending.splice(0);
    if (lines.length === 0) return;
    this.#handle ??= open(this.#path, 'a', 0o600);
    const handle = await this.#handle;
    await handle.appendFile(lines.join(''));
    await handle.sync();
  }

  /** Resolves when every anchor noted so far is written and synced. */
  async flush(): Promise<void> {
    while (this.#scheduled || this.#pending.length > 0) await this.#writing;
    await this.#writing;
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) await (await handle).close();
  }
}

/** Every journal in a directory (all processes that wrote there), lines that do not parse skipped. */
export async function readJournals(dir: string): Promise<JournalAnchors[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const journals: JournalAnchors[] = [];
  for (const file of names.filter((name) => FILE.test(name)).sort()) {
    const text = await readFile(join(dir, file), 'utf8');
    const anchors: AuditAnchor[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const value = JSON.parse(line) as Partial<AuditAnchor>;
        if (typeof value.seq === 'number' && typeof value.hash === 'string')
          anchors.push({
            seq: value.seq,
            hash: value.hash,
            id: String(value.id ?? ''),
            at: String(value.at ?? ''),
          });
      } catch {
        // A line cut by a crash mid-write: the anchors before it still count.
      }
    }
    journals.push({ file, anchors });
  }
  return journals;
}
