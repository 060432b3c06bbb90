// Benchmark: local mode's start-up, from process start to its first reply (`whoami` piped in, a new
// data directory each time, so it starts its own redis-server), against a bare script that starts a
// redis-server, imports bullmq and ioredis, connects and prints (startup-baseline.ts). Each side runs
// several times in turn; the medians are compared. Prints the ratio last.
//   npm run bench   (or: node test/bench/startup.bench.ts [runs])
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/app/config-load.ts';
import { ms, percentile } from './bench-kit.ts';

const runs = Number(process.argv[2] ?? 5);

/** Milliseconds from spawning `args` until its stdout shows `until`; the process is then left to end. */
async function timeToOutput(args: string[], input: string, until: RegExp): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-startup-'));
  const start = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, VMOPS_DATA_DIR: dir },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(input);
  let seen = '';
  let at: number | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    seen += chunk.toString('utf8');
    if (at === undefined && until.test(seen)) at = performance.now() - start;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  rmSync(dir, { recursive: true, force: true });
  if (code !== 0 || at === undefined) throw new Error(`${args.join(' ')} exited ${code} without ${until}`);
  return at;
}

const bare: number[] = [];
const local: number[] = [];
for (let i = 0; i < runs; i++) {
  bare.push(await timeToOutput([join(repoRoot, 'test', 'bench', 'startup-baseline.ts')], '', /^ready$/m));
  local.push(await timeToOutput([join(repoRoot, 'src', 'main.ts')], 'whoami\n', /^You are alice/m));
}
const bareMedian = percentile(bare, 50);
const localMedian = percentile(local, 50);
console.log(`start-up to the first reply, median of ${runs} runs each`);
console.log(`  bare script (redis-server + bullmq + ioredis): ${ms(bareMedian)}`);
console.log(`  vmops local mode, piped whoami:                ${ms(localMedian)}`);
console.log(`startup ratio (vmops local mode / bare script): ${(localMedian / bareMedian).toFixed(2)}`);
