// The web console: a fastify app served by the bot. Pages are rendered on the server (src/web/pages/)
// and kept live with server-sent events (job-feed.ts). Sign-in is a one-time link from `login` in a
// direct message (sessions.ts); every change is a POST that carries the session's CSRF token
// (csrf.ts) and runs as a chat command of the signed-in person through the bot's own pipeline
// (web-adapter.ts), so roles, policy, approvals and the audit trail apply exactly as in chat. The
// download area (<dataDir>/downloads) is served read-only.
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { allCommands } from '../../commands/index.ts';
import type { Config } from '../../config/schema.ts';
import type { BotCore } from '../bot-core.ts';
import { CommandRegistry } from '../command-registry.ts';
import { VmopsError } from '../errors.ts';
import { showTime } from '../oncall/rota.ts';
import { accessFor, authorize, mayRun } from '../pipeline/authorize.ts';
import { identitiesFromConfig, WEB_NETWORK } from '../pipeline/identify.ts';
import type { JobStatusView, Principal } from '../types.ts';
import { crossSite, tokenOf } from './csrf.ts';
import { knownHost } from './host-check.ts';
import type { Html } from './html.ts';
import { JobFeed, RECENT_JOBS } from './job-feed.ts';
import { servableWithoutLinks } from './no-symlinks.ts';
import { registerOpsRoutes } from './ops-routes.ts';
import { approvalsBody } from './pages/approvals.ts';
import { auditBody } from './pages/audit.ts';
import { imagesBody } from './pages/images.ts';
import { jobBody, jobCard, jobRow, jobsBody, logBlock, reportBody } from './pages/jobs.ts';
import { layout, type NavItem } from './pages/layout.ts';
import {
  bouncePage,
  confirmLoginBody,
  deadLinkBody,
  refusedBody,
  resultBody,
  signInBody,
} from './pages/notices.ts';
import { workersBody } from './pages/workers.ts';
import { equalSecret } from './secret-compare.ts';
import type { WebSession } from './sessions.ts';
import type { WebAdapter } from './web-adapter.ts';

export interface WebConsoleOptions {
  config: Config;
  core: Pick<
    BotCore,
    | 'handle'
    | 'jobs'
    | 'catalog'
    | 'approvals'
    | 'audit'
    | 'liveWorkers'
    | 'sessions'
    | 'notifier'
    | 'metrics'
    | 'health'
  >;
  /** The `web` adapter the bot core was started with (it collects the replies to page actions). */
  adapter: WebAdapter;
  /** Where the download area is: <dataDir>/downloads. */
  dataDir: string;
  log: Logger;
  host: string;
  /** 0: any free port. */
  port: number;
  now?: () => number;
}

export interface WebConsole {
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  url: string;
  close(): Promise<void>;
}

const COOKIE = 'vmops_session';
const JOB_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const REQUEST_ID = /^r-[a-z0-9]{4,16}$/;
const LOG_LINES = 200;
const ASSETS = join(dirname(fileURLToPath(import.meta.url)), 'assets');

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Who is asking: their session and who the config says they are. */
interface Viewer {
  sessionId: string;
  session: WebSession;
  principal: Principal;
}

/** A deny reason as one quoted word of the command, whatever quotes it holds. */
function quoted(reason: string): string {
  const clean = reason
    .replace(/[\p{Cc}\u2028\u2029]/gu, ' ')
    .trim()
    .slice(0, 300);
  if (clean === '') return '';
  if (!clean.includes('"')) return ` "${clean}"`;
  if (!clean.includes("'")) return ` '${clean}'`;
  return ` "${clean.replaceAll('"', "'").replaceAll("'", '')}"`;
}

/** Fastify's own packages, resolved from fastify (they are its dependencies, not ours). */
const fromFastify = createRequire(import.meta.resolve('fastify'));

/**
 * Fastify's schema compilers (ajv and fast-json-stringify, about a hundred modules and a third of the
 * console's load time) are loaded only if a route declares a schema to validate or serialize with;
 * the console's routes declare none, so its start loads neither.
 */
const SCHEMA_COMPILERS_ON_USE = {
  buildValidator: (...args: unknown[]) => fromFastify('@fastify/ajv-compiler')()(...args),
  buildSerializer: (...args: unknown[]) => fromFastify('@fastify/fast-json-stringify-compiler')()(...args),
};

export async function startWebConsole(options: WebConsoleOptions): Promise<WebConsole> {
  const { config, core, adapter, log } = options;
  const now = options.now ?? Date.now;
  const identify = identitiesFromConfig(config.people);
  const secure = config.web.publicUrl?.startsWith('https:') ?? false;
  const feed = new JobFeed({ notifier: core.notifier, jobs: core.jobs });
  const streams = new Set<{ end(): void }>();
  const assets = {
    css: readFileSync(join(ASSETS, 'console.css'), 'utf8'),
    js: readFileSync(join(ASSETS, 'console.js'), 'utf8'),
  };

  const commands = new CommandRegistry(allCommands);
  const may = (principal: Principal, command: string) => {
    const found = commands.lookup(command);
    return found !== undefined && mayRun(principal, accessFor(found, config.policy));
  };
  /** The chat refusal for a person who may not run `command`, or undefined when they may. */
  const refusal = (principal: Principal, command: string): string | undefined => {
    const found = commands.lookup(command);
    if (!found) return `no command ${command}`;
    try {
      authorize(principal, found, config.policy);
      return undefined;
    } catch (error) {
      return error instanceof VmopsError ? error.message : String(error);
    }
  };
  const navFor = (principal: Principal): NavItem[] =>
    [
      { href: '/jobs', label: 'Jobs', command: 'jobs' },
      { href: '/images', label: 'Images', command: 'images' },
      { href: '/approvals', label: 'Approvals', command: 'pending' },
      { href: '/workers', label: 'Workers', command: 'agents' },
      { href: '/audit', label: 'Audit', command: 'audit' },
    ]
      .filter((item) => may(principal, item.command))
      .map(({ href, label }) => ({ href, label }));

  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    trustProxy: false,
    schemaController: { compilersFactory: SCHEMA_COMPILERS_ON_USE },
  });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  // Only requests addressed to this console by a name it is known by (DNS rebinding, host-check.ts).
  app.addHook('onRequest', async (request, reply) => {
    if (knownHost(request.headers.host, { publicUrl: config.web.publicUrl, bindHost: options.host })) return;
    return reply
      .code(421)
      .type('text/plain; charset=utf-8')
      .send('This console does not answer to that host name.\n');
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  async function viewerOf(request: FastifyRequest): Promise<Viewer | undefined> {
    const sessionId = request.cookies[COOKIE];
    const session = await core.sessions.session(sessionId);
    if (!session || sessionId === undefined) return undefined;
    const principal = identify(WEB_NETWORK, {
      id: session.person,
      displayName: session.person,
      isBot: false,
      isSelf: false,
    });
    // A person taken out of the config is signed out with it.
    return principal.known ? { sessionId, session, principal } : undefined;
  }

  function send(reply: FastifyReply, status: number, markup: string) {
    return reply.code(status).type('text/html; charset=utf-8').send(markup);
  }

  function page(
    reply: FastifyReply,
    viewer: Viewer,
    title: string,
    current: string,
    body: Html,
    extra: { status?: number; live?: string } = {},
  ) {
    return send(
      reply,
      extra.status ?? 200,
      layout({
        title,
        body,
        current,
        nav: navFor(viewer.principal),
        who: { person: viewer.principal.id, roles: viewer.principal.roles, csrf: viewer.session.csrf },
        ...(extra.live ? { live: extra.live } : {}),
      }),
    );
  }

  /** Not signed in: to the sign-in help, or, for a link followed from chat, once more from this site. */
  function toSignIn(request: FastifyRequest, reply: FastifyReply) {
    if (request.method === 'GET' && crossSite(request.headers) && request.cookies[COOKIE] === undefined) {
      return send(reply, 200, bouncePage());
    }
    return reply.code(303).redirect('/signin');
  }

  /** Runs a page handler for a signed-in person who may run `command`; others are sent away or refused. */
  function guarded(
    command: string,
    handler: (viewer: Viewer, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const viewer = await viewerOf(request);
      if (!viewer) return toSignIn(request, reply);
      if (request.method === 'POST') {
        if (
          crossSite(request.headers) ||
          !equalSecret(viewer.session.csrf, tokenOf(request.body, request.headers))
        ) {
          log.info({ person: viewer.principal.id, url: request.url }, 'web: CSRF check failed');
          return page(
            reply,
            viewer,
            'Refused',
            '',
            refusedBody(
              'This form did not come from a page of this console, or the page is older than your session (CSRF check failed): nothing was done. Reload the page and try again.',
            ),
            { status: 403 },
          );
        }
      }
      const refused = refusal(viewer.principal, command);
      if (refused && request.method === 'GET') {
        return page(reply, viewer, 'Not allowed', '', refusedBody(refused), { status: 403 });
      }
      return handler(viewer, request, reply);
    };
  }

  /** A page action: the command goes through the bot's pipeline as the signed-in person's direct message. */
  async function act(
    viewer: Viewer,
    reply: FastifyReply,
    text: string,
    back: { href: string; label: string },
  ) {
    const { result, replies } = await adapter.converse(viewer.principal.id, text, (message) =>
      core.handle(message),
    );
    const status = result.outcome === 'done' ? 200 : result.outcome === 'refused' ? 403 : 500;
    return page(
      reply,
      viewer,
      status === 200 ? 'Done' : 'Not done',
      '',
      resultBody(replies, result.jobs, back),
      {
        status,
      },
    );
  }

  const stepNames = (view: JobStatusView) =>
    (config.products[view.product]?.stages[view.stage]?.steps ?? []).map((step) => step.name);
  const controlsFor = (viewer: Viewer, view: JobStatusView) => ({
    csrf: viewer.session.csrf,
    cancel: may(viewer.principal, 'cancel'),
    retry: may(viewer.principal, 'retry'),
    report: view.stage === 'test' && may(viewer.principal, 'report'),
  });

  // Health and metrics, for monitoring (no login; /metrics takes web.metricsToken when set).
  registerOpsRoutes(app, {
    metrics: core.metrics,
    health: core.health,
    metricsToken: config.web.metricsToken,
  });

  // Sign-in and sign-out.
  app.get('/', async (_request, reply) => reply.code(303).redirect('/jobs'));
  app.get('/signin', async (request, reply) => {
    if (await viewerOf(request)) return reply.code(303).redirect('/jobs');
    return send(reply, 200, layout({ title: 'Sign in', body: signInBody(config.bot.name) }));
  });
  app.get<{ Params: { token: string } }>('/login/:token', async (request, reply) => {
    // Looking does not use the link up: chat apps fetch links to preview them.
    const person = await core.sessions.peekLogin(request.params.token);
    if (!person) return send(reply, 410, layout({ title: 'Sign in', body: deadLinkBody() }));
    return send(
      reply,
      200,
      layout({ title: 'Sign in', body: confirmLoginBody(person, request.params.token) }),
    );
  });
  app.post<{ Params: { token: string } }>('/login/:token', async (request, reply) => {
    if (crossSite(request.headers))
      return send(reply, 403, layout({ title: 'Sign in', body: deadLinkBody() }));
    const signed = await core.sessions.signIn(request.params.token);
    if (!signed) return send(reply, 410, layout({ title: 'Sign in', body: deadLinkBody() }));
    log.info({ person: signed.session.person }, 'web: signed in');
    reply.setCookie(COOKIE, signed.id, {
      httpOnly: true,
      sameSite: 'strict',
      secure,
      path: '/',
      maxAge: Math.floor((signed.session.expiresAt - now()) / 1000),
    });
    return reply.code(303).redirect('/jobs');
  });
  app.post('/logout', async (request, reply) => {
    const viewer = await viewerOf(request);
    if (viewer) {
      if (!equalSecret(viewer.session.csrf, tokenOf(request.body, request.headers))) {
        return page(reply, viewer, 'Refused', '', refusedBody('CSRF check failed: reload the page.'), {
          status: 403,
        });
      }
      await core.sessions.signOut(viewer.sessionId);
    }
    reply.clearCookie(COOKIE, { path: '/' });
    return reply.code(303).redirect('/signin');
  });

  // Jobs.
  app.get(
    '/jobs',
    guarded('jobs', async (viewer, _request, reply) => {
      const views = await core.jobs.list(RECENT_JOBS);
      return page(reply, viewer, 'Jobs', '/jobs', jobsBody(views, now()), { live: '/events' });
    }),
  );
  app.get<{ Params: { id: string } }>(
    '/jobs/:id',
    guarded('status', async (viewer, request, reply) => {
      const id = (request.params as { id: string }).id;
      const view = JOB_ID.test(id) ? await core.jobs.get(id) : undefined;
      if (!view)
        return page(reply, viewer, 'No such job', '/jobs', refusedBody(`no job ${id}`), { status: 404 });
      const card = jobCard(view, stepNames(view), controlsFor(viewer, view), now());
      const log = may(viewer.principal, 'log') ? logBlock(await core.jobs.logs(id, LOG_LINES)) : undefined;
      return page(reply, viewer, `Job ${id}`, '/jobs', jobBody(card, log), {
        live: `/events?job=${encodeURIComponent(id)}`,
      });
    }),
  );
  app.get<{ Params: { id: string } }>(
    '/jobs/:id/report',
    guarded('report', async (viewer, request, reply) => {
      const id = (request.params as { id: string }).id;
      const view = JOB_ID.test(id) ? await core.jobs.get(id) : undefined;
      const report = view ? await core.catalog.report(id) : undefined;
      if (!view || !report) {
        return page(reply, viewer, 'No report', '/jobs', refusedBody(`job ${id} left no test report`), {
          status: 404,
        });
      }
      return page(reply, viewer, `Test report of ${id}`, '/jobs', reportBody(view, report));
    }),
  );
  for (const action of ['cancel', 'retry'] as const) {
    app.post<{ Params: { id: string } }>(
      `/jobs/:id/${action}`,
      guarded(action, async (viewer, request, reply) => {
        const id = (request.params as { id: string }).id;
        if (!JOB_ID.test(id)) return reply.code(404).send();
        return act(viewer, reply, `${action} ${id}`, { href: `/jobs/${id}`, label: `Back to job ${id}` });
      }),
    );
  }

  // Live updates.
  app.get('/events', async (request, reply) => {
    const viewer = await viewerOf(request);
    if (!viewer) return reply.code(401).send();
    const jobId = (request.query as { job?: unknown }).job;
    if (jobId !== undefined && (typeof jobId !== 'string' || !JOB_ID.test(jobId)))
      return reply.code(404).send();
    if (!may(viewer.principal, jobId === undefined ? 'jobs' : 'status')) return reply.code(403).send();
    const showLog = jobId !== undefined && may(viewer.principal, 'log');
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...SECURITY_HEADERS,
    });
    res.write('retry: 3000\n\n');
    let queue = Promise.resolve();
    const push = (view: JobStatusView) => {
      queue = queue
        .then(async () => {
          const update: Record<string, string> = { jobId: view.jobId };
          if (jobId === undefined) update.row = jobRow(view, now()).value;
          else {
            update.card = jobCard(view, stepNames(view), controlsFor(viewer, view), now()).value;
            if (showLog) update.log = logBlock(await core.jobs.logs(view.jobId, LOG_LINES)).value;
          }
          if (!res.writableEnded) res.write(`event: job\ndata: ${JSON.stringify(update)}\n\n`);
        })
        .catch((error: unknown) => log.debug({ err: error }, 'web: live update failed'));
    };
    const unfollow = feed.follow(jobId, push);
    // The page may have been rendered just before a change: start from what holds now.
    const current =
      jobId === undefined ? (await core.jobs.list(RECENT_JOBS)).reverse() : [await core.jobs.get(jobId)];
    for (const view of current) if (view) push(view);
    const stream = {
      end: () => {
        clearInterval(beat);
        unfollow();
        streams.delete(stream);
        if (!res.writableEnded) res.end();
      },
    };
    // Keeps proxies from closing the stream, and ends it with the session.
    const beat = setInterval(() => {
      void core.sessions.session(viewer.sessionId).then(
        (alive) => (alive ? res.write(': alive\n\n') : stream.end()),
        () => undefined,
      );
    }, 15_000);
    streams.add(stream);
    request.raw.on('close', stream.end);
  });

  // Images, approvals, workers, audit.
  app.get(
    '/images',
    guarded('images', async (viewer, _request, reply) => {
      const products = await Promise.all(
        Object.keys(config.products).map(async (product) => {
          const versions = (await core.catalog.versions(product)).slice(0, 20);
          return {
            product,
            versions: await Promise.all(
              versions.map(async (version) => ({
                ...(await core.catalog.version(product, version)),
                deployments: (await core.catalog.deployments?.(product, version)) ?? [],
              })),
            ),
          };
        }),
      );
      return page(reply, viewer, 'Images', '/images', imagesBody(products));
    }),
  );
  app.get(
    '/approvals',
    guarded('pending', async (viewer, _request, reply) => {
      const requests = await core.approvals.pending();
      const tz = config.oncall.timezone;
      const rule =
        config.policy.approvals.approvedBy === 'oncall'
          ? 'Only the person on call, or someone a request was sent to, may answer; never the person who asked.'
          : 'Approvers and the person on call may answer; never the person who asked.';
      return page(
        reply,
        viewer,
        'Approvals',
        '/approvals',
        approvalsBody(
          requests,
          {
            csrf: viewer.session.csrf,
            person: viewer.principal.id,
            answer: may(viewer.principal, 'approve'),
            withdraw: may(viewer.principal, 'withdraw'),
            time: (at) => showTime(at, tz),
          },
          rule,
        ),
      );
    }),
  );
  for (const decision of ['approve', 'deny', 'withdraw'] as const) {
    app.post<{ Params: { id: string } }>(
      `/approvals/:id/${decision}`,
      // The pipeline decides who may answer, as in chat; its refusal is the page's answer.
      guarded('pending', async (viewer, request, reply) => {
        const id = (request.params as { id: string }).id;
        if (!REQUEST_ID.test(id)) return reply.code(404).send();
        const reason =
          decision === 'approve' ? '' : quoted(String((request.body as { reason?: unknown })?.reason ?? ''));
        return act(viewer, reply, `${decision} ${id}${reason}`, {
          href: '/approvals',
          label: 'Back to approvals',
        });
      }),
    );
  }
  app.get(
    '/workers',
    guarded('agents', async (viewer, _request, reply) =>
      page(reply, viewer, 'Workers', '/workers', workersBody(await core.liveWorkers(), now())),
    ),
  );
  app.get(
    '/audit',
    guarded('audit', async (viewer, _request, reply) =>
      page(reply, viewer, 'Audit trail', '/audit', auditBody(await core.audit.recent(100))),
    ),
  );

  // Assets and the download area.
  app.get('/assets/console.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=300').send(assets.css),
  );
  app.get('/assets/console.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(assets.js),
  );
  mkdirSync(join(options.dataDir, 'downloads'), { recursive: true });
  const downloads = realpathSync(join(options.dataDir, 'downloads'));
  await app.register(async (scope) => {
    if (config.web.downloads === 'signed-in') {
      scope.addHook('onRequest', async (request, reply) => {
        if (!(await viewerOf(request))) return toSignIn(request, reply);
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
        return send(reply, 404, layout({ title: 'Not found', body: refusedBody('There is no such page.') }));
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

  app.setNotFoundHandler(async (_request, reply) =>
    send(reply, 404, layout({ title: 'Not found', body: refusedBody('There is no such page.') })),
  );
  app.setErrorHandler(async (error, request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) log.error({ err: error, url: request.url }, 'web: request failed');
    return send(
      reply,
      status,
      layout({
        title: 'Error',
        body: refusedBody(status >= 500 ? 'Something went wrong inside vmops.' : 'Bad request.'),
      }),
    );
  });

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address() as AddressInfo;
  // Listening on every address: links name loopback (set web.publicUrl for links others can open).
  const any = address.address === '0.0.0.0' || address.address === '::';
  const host = any ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  core.sessions.servedAt(url);
  log.info({ url }, 'web console listening');
  if (!config.web.metricsToken && !['127.0.0.1', '::1', 'localhost'].includes(options.host)) {
    log.warn(
      { host: options.host },
      'web console: /metrics is open to anyone who reaches this address; set web.metricsToken to require a bearer token',
    );
  }
  return {
    url,
    async close() {
      feed.close();
      for (const stream of [...streams]) stream.end();
      await app.close();
    },
  };
}
