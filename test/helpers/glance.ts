// A throwaway OpenStack Glance image API (the Debian glance-api package) on a free loopback port:
// sqlite, a file store and no Keystone (every request is an admin), in a temporary directory. The
// configuration is the one verified in the project's notes (real-images/glance). Glance runs on
// Debian's /usr/bin/python3 through its own launchers.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/redis/free-port.ts';
import { type ServerProcess, watchProcess } from './cloud-process.ts';
import { until } from './until.ts';

export interface Glance {
  /** http://127.0.0.1:PORT (the API is under /v2). */
  url: string;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

const config = (dir: string, port: number) => `[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${port}
workers = 1
enabled_backends = fs:file
use_stderr = true
debug = false
image_size_cap = 10737418240

[database]
connection = sqlite:///${dir}/glance.sqlite

[glance_store]
default_backend = fs

[fs]
filesystem_store_datadir = ${dir}/images/

[os_glance_staging_store]
filesystem_store_datadir = ${dir}/staging/

[os_glance_tasks_store]
filesystem_store_datadir = ${dir}/tasks/

[oslo_concurrency]
lock_path = ${dir}/lock

[paste_deploy]
flavor =
config_file = ${dir}/etc/glance-api-paste.ini

[image_import_opts]
image_import_plugins = []

[oslo_policy]
policy_file = ${dir}/etc/policy.yaml
`;

export async function startGlance(): Promise<Glance> {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-glance-'));
  for (const sub of ['etc', 'images', 'staging', 'tasks', 'lock', 'empty']) mkdirSync(join(dir, sub));
  const port = await freePort();
  const conf = join(dir, 'etc', 'glance-api.conf');
  writeFileSync(conf, config(dir, port));
  copyFileSync('/etc/glance/glance-api-paste.ini', join(dir, 'etc', 'glance-api-paste.ini'));
  // noauth requests are admin but have no roles: let them make public images too.
  writeFileSync(join(dir, 'etc', 'policy.yaml'), '"publicize_image": ""\n');
  await promisify(execFile)('glance-manage', ['--config-file', conf, 'db_sync'], { timeout: 120_000 });
  const child = spawn('glance-api', ['--config-file', conf, '--config-dir', join(dir, 'empty')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server: ServerProcess = watchProcess(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await until(
      async () => {
        if (server.exited()) throw new Error(`glance-api exited:\n${server.log()}`);
        return fetch(`${url}/versions`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { what: () => `glance-api on ${url}:\n${server.log()}`, timeoutMs: 60_000, intervalMs: 100 },
    );
  } catch (error) {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    dir,
    log: server.log,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
