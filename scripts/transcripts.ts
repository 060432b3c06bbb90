// The transcripts in README.md and docs/ are made by running them, so they can be refreshed and
// checked. A transcript is a code block right after a marker that says what was typed:
//
//   <!-- transcript: printf 'build demo 2.6 kvm\nimages 2.6\n' | npm start -s -->
//   ```
//   alice> build demo 2.6 kvm
//   …
//   ```
//
// Everything after `printf` follows the documented command: the quoted lines go to local mode's
// standard input, and words after `--` are its arguments. Each run gets a fresh data directory.
//   npm run transcripts            runs every transcript and writes the output into its block
//   npm run transcripts -- --check runs them and fails when one no longer matches in shape (job ids,
//                                  times, sizes and checksums may differ; lines and their order may not)
// A marker written `<!-- transcript (slow): … -->` takes minutes (real appliances are built and
// booted): only `--slow` runs it, e.g. `npm run transcripts -- --slow`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../src/app/config-load.ts';

/** One transcript found in a page. */
export interface Transcript {
  /** Page, relative to the repository. */
  page: string;
  /** The marker's command, as written. */
  command: string;
  /** Lines fed to local mode. */
  input: string;
  /** Arguments after `--`. */
  args: string[];
  /** The block's text as it is in the page (without the fences). */
  shown: string;
  /** Marked `(slow)`: it takes minutes (real appliances boot), so only `--slow` runs it. */
  slow: boolean;
}

const MARKER = /<!-- transcript( \(slow\))?: (printf '((?:[^'\\]|\\.)*)'[^\n]*?) -->\n```\n([\s\S]*?)```/g;

/** Every Markdown page the transcripts may live in. */
export function transcriptPages(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return entry.name.endsWith('.md') ? [path] : [];
    });
  return ['README.md', ...walk('docs')];
}

/** The transcripts of one page. */
export function transcriptsOf(page: string, text: string): Transcript[] {
  return [...text.matchAll(MARKER)].map((match) => {
    const command = match[2] as string;
    const after = command.split(' -- ')[1];
    return {
      page,
      command,
      input: (match[3] as string).replaceAll('\\n', '\n').replaceAll("\\'", "'"),
      args: after ? after.trim().split(/\s+/) : [],
      shown: match[4] as string,
      slow: match[1] !== undefined,
    };
  });
}

/** Runs one transcript in local mode on a fresh data directory; resolves with its standard output. */
export async function runTranscript(transcript: Transcript): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vmops-transcript-'));
  try {
    const child = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), ...transcript.args], {
      cwd: repoRoot,
      env: { ...process.env, VMOPS_DATA_DIR: dataDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(transcript.input);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`${transcript.page}: ${transcript.command} exited ${code}\n${err}`);
    return out;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * A transcript's shape: what must stay the same from run to run. Job and request ids, sign-in
 * tokens, loopback ports (a busy 8080 makes local mode take a free one), times, dates, sizes and
 * checksums become placeholders; a status message's progress edits are dropped (how many a
 * pipe shows, and what the first says, depends on timing): its final state stays; lines that answer
 * one typed command may come in any order (jobs run side by side), so each command's answer is sorted.
 */
export function shapeOf(output: string): string[] {
  const normalised = output
    .split('\n')
    .map((line) =>
      line
        // A job id: 8 characters with a digit, or (a quarter of them have none) in the id's alphabet
        // before a format's suffix or after the word job, status, cancel or log.
        .replaceAll(
          /\b(?:(?=[a-z0-9]*\d)[a-z0-9]{8}|[a-km-np-z2-9]{8}(?=-[a-z])|(?<=\b(?:job|status|cancel|log) )[a-km-np-z2-9]{8})\b/g,
          '<job>',
        )
        .replaceAll(/\br-[a-z0-9]{6}\b/g, '<request>')
        .replaceAll(/\/login\/[A-Za-z0-9_-]{20,}/g, '/login/<token>')
        .replaceAll(/\/\/127\.0\.0\.1:\d+/g, '//127.0.0.1:<port>')
        .replaceAll(/\b\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d)?(?:\.\d+)?Z?)?/g, '<date>')
        .replaceAll(/\b\d+:\d\d(?::\d\d)?\b/g, '<time>')
        .replaceAll(/\b[0-9a-f]{12,64}\b/g, '<hex>')
        .replaceAll(/\b\d+(?:\.\d+)? ?(?:B|kB|KB|MB|GB|KiB|MiB|GiB)\b/g, '<size>')
        .trimEnd(),
    )
    .filter((line) => line !== '' && !line.startsWith('▶️'));
  const blocks: string[][] = [];
  for (const line of normalised) {
    if (/^[a-z][a-z0-9_-]*> /.test(line) || blocks.length === 0) blocks.push([line]);
    else blocks.at(-1)?.push(line);
  }
  return blocks.flatMap(([typed, ...answer]) => [typed as string, ...answer.sort()]);
}

/** What a page shows of a run: each status message's first line and its final state, not every edit between. */
export function shownOf(output: string): string {
  const started = new Set<string>();
  return output
    .split('\n')
    .filter((line) => {
      if (!line.startsWith('▶️')) return true;
      const job = /· job (\S+) ·/.exec(line)?.[1] ?? line;
      if (started.has(job)) return false;
      started.add(job);
      return true;
    })
    .join('\n')
    .trimEnd();
}

async function main(check: boolean, slow: boolean): Promise<number> {
  let failed = 0;
  for (const page of transcriptPages()) {
    const path = join(repoRoot, page);
    let text = readFileSync(path, 'utf8');
    for (const transcript of transcriptsOf(page, text)) {
      if (transcript.slow && !slow) continue;
      const output = await runTranscript(transcript);
      if (check) {
        const same = JSON.stringify(shapeOf(output)) === JSON.stringify(shapeOf(transcript.shown));
        process.stdout.write(`${same ? 'ok  ' : 'DIFF'} ${page}: ${transcript.command}\n`);
        if (!same) {
          failed += 1;
          process.stdout.write(`--- shown\n${transcript.shown}--- now\n${output}`);
        }
      } else {
        text = text.replace(`${transcript.shown}\`\`\``, `${shownOf(output)}\n\`\`\``);
        process.stdout.write(`ran  ${page}: ${transcript.command}\n`);
      }
    }
    if (!check) writeFileSync(path, text);
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.includes('--check'), process.argv.includes('--slow'));
}
