// What a worker process is running, written to its data directory as it happens: each job (its queue,
// what it works on, whether a step ran yet) and each local step's process group with the start time
// the kernel gives it. When the worker dies without ending them (SIGKILL, a crash, the machine), the
// next worker start on that data directory finds the records, proves which step processes are still
// the ones it started (same pid, same kernel start time: never a stranger that reused the pid), stops
// them, and settles each job (recover-lost-jobs.ts). A record is removed when its job ends.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobData } from '../types.ts';

/** A step process this worker started. */
export interface StepProcess {
  /** Its pid, which is also its process group (steps run in their own group). */
  pid: number;
  /** Its start time in clock ticks since boot (/proc/<pid>/stat field 22), the proof it is ours. */
  start: string;
}

/** A job this worker process took and has not ended. */
export interface RunRecord {
  jobId: string;
  /** The BullMQ queue it came from. */
  queue: string;
  data: Pick<JobData, 'stage' | 'product' | 'version' | 'format' | 'cloud' | 'params'>;
  /** The worker process that ran it, and its start time (alive when both still match). */
  worker: { name: string; pid: number; start: string };
  /** Whether a step began: a job lost before that never did anything and simply runs again. */
  stepRan: boolean;
  /** Local steps started, with their proofs. */
  steps: StepProcess[];
}

/**
 * The kernel's start time of a process (clock ticks since boot), or undefined when there is none. A
 * zombie (dead, waiting for a parent to reap it; an orphan's new parent may take its time) counts as
 * none: it runs nothing.
 */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // field 3: the state
    return fields[19]; // field 22 overall
  } catch {
    return undefined;
  }
}

/** Whether the process is still the one recorded (same pid, same start time). */
export const stillRunning = (process: StepProcess): boolean => processStart(process.pid) === process.start;

export class RunRecords {
  readonly #dir: string;
  readonly #records = new Map<string, RunRecord>();

  constructor(dataDir: string) {
    this.#dir = join(dataDir, 'run', 'jobs');
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
  }

  #write(record: RunRecord): void {
    const file = join(this.#dir, `${record.jobId}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(record), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  /** Records that this process took the job. */
  begin(record: Omit<RunRecord, 'stepRan' | 'steps'>): void {
    const full: RunRecord = { ...record, stepRan: false, steps: [] };
    this.#records.set(record.jobId, full);
    this.#write(full);
  }

  /** Records that a step of the job is about to run. */
  stepStarting(jobId: string): void {
    const record = this.#records.get(jobId);
    if (!record || record.stepRan) return;
    record.stepRan = true;
    this.#write(record);
  }

  /** Records a step process the job started. */
  spawned(jobId: string, pid: number): void {
    const record = this.#records.get(jobId);
    const start = processStart(pid);
    if (!record || start === undefined) return;
    record.steps = [...record.steps.filter(stillRunning), { pid, start }];
    this.#write(record);
  }

  /** The job ended here: nothing to recover. */
  end(jobId: string): void {
    this.#records.delete(jobId);
    rmSync(join(this.#dir, `${jobId}.json`), { force: true });
  }

  /** Records left by processes of this data directory that are gone (not this one, not a live one). */
  orphaned(): RunRecord[] {
    const found: RunRecord[] = [];
    for (const name of readdirSync(this.#dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const record = JSON.parse(readFileSync(join(this.#dir, name), 'utf8')) as RunRecord;
        if (this.#records.has(record.jobId)) continue;
        if (stillRunning({ pid: record.worker.pid, start: record.worker.start })) continue;
        found.push(record);
      } catch {
        rmSync(join(this.#dir, name), { force: true }); // half-written by a crash: nothing to act on
      }
    }
    return found;
  }

  /** Forgets a record left by a dead process, once it was settled. */
  settled(jobId: string): void {
    rmSync(join(this.#dir, `${jobId}.json`), { force: true });
  }
}
