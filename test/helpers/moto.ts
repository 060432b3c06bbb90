// A throwaway EC2-API cloud: moto_server (moto 5, from the machine's Python) serving EC2 and S3 in
// memory on a free loopback port. It registers, tags, describes and deregisters images and runs and
// terminates instances with user-data; it boots nothing and has no ImportSnapshot.
import { spawn } from 'node:child_process';
import { freePort } from '../../src/redis/free-port.ts';
import { watchProcess } from './cloud-process.ts';
import { until } from './until.ts';

export interface Moto {
  /** http://127.0.0.1:PORT: the EC2 and the S3 endpoint. */
  url: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = watchProcess(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await until(
      async () => {
        if (server.exited())
          throw new Error(`moto_server exited (is moto[server] installed?):\n${server.log()}`);
        return fetch(`${url}/moto-api/`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { what: () => `moto_server on ${url}:\n${server.log()}`, timeoutMs: 60_000, intervalMs: 100 },
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url, log: server.log, stop: () => server.stop() };
}
