// The cernvm recipe's rootfs cache at the start of a build: a collection killed midway leaves a
// `.<key>.tmp.<pid>` folder (hundreds of MiB); it goes once its process is gone, and only then.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const recipe = resolve(import.meta.dirname, '../../../recipes/cernvm');
const tmp = mkdtempSync(join(tmpdir(), 'vmops-rootfs-cache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the recipe's clean-up on a cache directory; returns what it printed. */
function clean(cache: string): string {
  const run = spawnSync(
    'bash',
    [
      '-c',
      'source "$1/lib.sh"; source "$1/appliance.sh"; clean_stale_collections "$2"',
      'clean',
      recipe,
      cache,
    ],
    { encoding: 'utf8' },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run.stdout;
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const run = spawnSync('bash', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(run.stdout.trim());
}

describe('the rootfs cache clean-up at the start of a build', () => {
  it("removes the unfinished collections of dead processes, keeps a live one's and the cache entries", () => {
    const cache = join(tmp, 'cache');
    const key = 'd086a17cdf3c9d649567e4e6e07cabe4';
    const dead = deadPid();
    const deadTmp = join(cache, `.${key}.tmp.${dead}`);
    const liveTmp = join(cache, `.${key}.tmp.${process.pid}`);
    for (const dir of [deadTmp, liveTmp, join(cache, key)]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'rootfs.tar'), 'partial');
    }
    writeFileSync(join(cache, `${key}.lock`), '');
    // Not a collection folder: a file with the pattern's name, and a name whose pid is not a number.
    writeFileSync(join(cache, `.other.tmp.${dead}`), '');
    mkdirSync(join(cache, `.${key}.tmp.x1`));

    const said = clean(cache);

    expect(existsSync(deadTmp)).toBe(false);
    expect(said).toBe(`removed the unfinished collection .${key}.tmp.${dead}: its process ${dead} is gone\n`);
    expect(readdirSync(cache).sort()).toEqual(
      [`.${key}.tmp.${process.pid}`, `.${key}.tmp.x1`, `.other.tmp.${dead}`, key, `${key}.lock`].sort(),
    );
  });

  it('does nothing in a cache without unfinished collections', () => {
    const cache = join(tmp, 'empty');
    mkdirSync(cache);
    expect(clean(cache)).toBe('');
  });
});
