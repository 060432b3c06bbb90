// Files: the console's own script and style sheet, and the download area (<dataDir>/downloads) served
// read-only, without symbolic links, to anyone or only to those signed in (web.downloads).
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { servableWithoutLinks } from '../no-symlinks.ts';
import { layout } from '../pages/layout.ts';
import { refusedBody } from '../pages/notices.ts';
import type { RouteContext } from './route-context.ts';

const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets');

export async function registerFileRoutes(
  { app, config, guard }: RouteContext,
  dataDir: string,
): Promise<void> {
  const assets = {
    css: readFileSync(join(ASSETS, 'console.css'), 'utf8'),
    js: readFileSync(join(ASSETS, 'console.js'), 'utf8'),
  };
  app.get('/assets/console.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=300').send(assets.css),
  );
  app.get('/assets/console.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(assets.js),
  );
  mkdirSync(join(dataDir, 'downloads'), { recursive: true });
  const downloads = realpathSync(join(dataDir, 'downloads'));
  await app.register(async (scope) => {
    if (config.web.downloads === 'signed-in') {
      scope.addHook('onRequest', async (request, reply) => {
        if (!(await guard.viewerOf(request))) return guard.toSignIn(request, reply);
      });
    }
    scope.addHook('onRequest', async (request, reply) => {
      const path = new URL(request.url, 'http://console').pathname.slice('/downloads/'.length);
      let relative: string;
      try {
        relative = decodeURIComponent(path);
      } catch {
        relative = '\0'; // not a path: refused below
      }
      if (relative.includes('\0') || !(await servableWithoutLinks(downloads, relative))) {
        return guard.send(
          reply,
          404,
          layout({ title: 'Not found', body: refusedBody('There is no such page.') }),
        );
      }
    });
    await scope.register(fastifyStatic, {
      root: downloads,
      prefix: '/downloads/',
      index: false,
      list: false,
      dotfiles: 'ignore',
      cacheControl: false,
      setHeaders: (res) => res.header('cache-control', 'no-cache'),
    });
  });
}
