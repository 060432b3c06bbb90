// What local mode loads to answer its first command: a network's SDK only when that network is
// configured, the web console's code (fastify and its plugins) only when it is enabled, and nothing
// test-only. Each of these costs start-up time a person waits through (matrix-js-sdk alone about half
// a second; issue 17), so a static import creeping back in fails here, by package name.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/app/config-load.ts';

const recorder = join(repoRoot, 'test', 'helpers', 'record-imports.ts');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Packages no start-up without their network or feature may load. */
const NETWORK_SDKS = ['matrix-js-sdk', '@slack/bolt', '@slack/web-api', '@xmpp/client'];
/** Loaded by tests and benchmarks only, never by vmops itself. */
const TEST_ONLY = ['playwright-core', 'vitest', 'hubot', 'fast-check'];
/** Loaded only by what uses them: a cloud step of that kind, a step on an SSH host, a test report. */
const ON_USE = ['@aws-sdk/client-ec2', '@aws-sdk/client-s3', 'ssh2', 'tap-parser', 'fast-xml-parser'];

/** The packages (by name) among the loaded module URLs. */
function packagesOf(urls: string[]): Set<string> {
  const names = urls.flatMap((url) => {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    return match?.[1] ? [match[1]] : [];
  });
  return new Set(names);
}

/**
 * Runs `node src/main.ts` (local mode, its own data directory and private redis-server) with `whoami`
 * piped in and an optional config, and returns its output and the packages it loaded.
 */
async function localModeLoads(configYaml?: string): Promise<{ output: string; packages: Set<string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-imports-'));
  dirs.push(dir);
  const list = join(dir, 'loaded.txt');
  const args = ['--import', recorder, join(repoRoot, 'src', 'main.ts')];
  if (configYaml !== undefined) {
    writeFileSync(join(dir, 'vmops.yaml'), configYaml);
    args.push('--config', join(dir, 'vmops.yaml'));
  }
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      VMOPS_REDIS_URL: '',
      VMOPS_DATA_DIR: join(dir, 'data'),
      VMOPS_RECORD_IMPORTS: list,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  child.stdin.end('whoami\n');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, output).toBe(0);
  return { output, packages: packagesOf(readFileSync(list, 'utf8').split('\n')) };
}

describe('local mode start-up', () => {
  it('answers without loading any network SDK, test-only package or per-use library', async () => {
    const { output, packages } = await localModeLoads();
    expect(output).toMatch(/^You are alice/m);
    // The recorder sees packages (the console is on by default), so the absences below mean something.
    expect(packages).toContain('bullmq');
    expect(packages).toContain('fastify');
    expect([...NETWORK_SDKS, ...TEST_ONLY, ...ON_USE].filter((name) => packages.has(name))).toEqual([]);
    // The console declares no route schemas, so fastify's schema compilers stay unloaded.
    expect(['ajv', '@fastify/ajv-compiler'].filter((name) => packages.has(name))).toEqual([]);
  });

  it('with the web console off, does not load fastify, its plugins or prom-client either', async () => {
    const config = readFileSync(join(repoRoot, 'config', 'default.yaml'), 'utf8');
    const { output, packages } = await localModeLoads(`${config}\nweb:\n  enabled: false\n`);
    expect(output).toMatch(/^You are alice/m);
    expect(packages).toContain('bullmq');
    // Nor prom-client: only the console serves /metrics.
    const web = [...packages].filter(
      (name) => name === 'fastify' || name.startsWith('@fastify/') || name === 'prom-client',
    );
    expect(web).toEqual([]);
  });
});
