// The console's one guard: every request is checked here before a page sees it. Requests must name a
// host the console is known by (DNS rebinding, host-check.ts) and get the security headers; a page is
// shown only to a signed-in person (session cookie, sessions.ts) who may run the page's command; every
// POST must carry the session's CSRF token (csrf.ts) and not come from another site.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { allCommands } from '../../commands/index.ts';
import type { Config } from '../../config/schema.ts';
import { VmopsError } from '../errors.ts';
import { CommandRegistry } from '../grammar/command-registry.ts';
import { accessFor, authorize, mayRun } from '../people/authorize.ts';
import { identitiesFromConfig, WEB_NETWORK } from '../people/identify.ts';
import type { Principal } from '../types.ts';
import type { ConsoleCore } from './console-context.ts';
import { crossSite, tokenOf } from './csrf.ts';
import { knownHost } from './host-check.ts';
import type { Html } from './html.ts';
import { layout, type NavItem } from './pages/layout.ts';
import { bouncePage, refusedBody } from './pages/notices.ts';
import { equalSecret } from './secret-compare.ts';
import type { WebSession } from './sessions.ts';

export const COOKIE = 'vmops_session';

export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Who is asking: their session and who the config says they are. */
export interface Viewer {
  sessionId: string;
  session: WebSession;
  principal: Principal;
}

export type PageHandler = (viewer: Viewer, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface Guard {
  /** The signed-in person a request comes from, or undefined. */
  viewerOf(request: FastifyRequest): Promise<Viewer | undefined>;
  /** Whether `principal` may run `command` under the config's policy. */
  may(principal: Principal, command: string): boolean;
  /** Sends a whole page of markup. */
  send(reply: FastifyReply, status: number, markup: string): FastifyReply;
  /** Sends a console page in the frame (navigation, who is signed in). */
  page(
    reply: FastifyReply,
    viewer: Viewer,
    title: string,
    current: string,
    body: Html,
    extra?: { status?: number; live?: string },
  ): FastifyReply;
  /** Not signed in: to the sign-in help, or, for a link followed from chat, once more from this site. */
  toSignIn(request: FastifyRequest, reply: FastifyReply): FastifyReply;
  /** Runs a page handler for a signed-in person who may run `command`; others are sent away or refused. */
  guarded(
    command: string,
    handler: PageHandler,
  ): (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

export interface GuardOptions {
  config: Config;
  core: ConsoleCore;
  log: Logger;
  /** The address the console is bound to (a name it is known by). */
  host: string;
}

/** Only requests addressed to this console by a name it is known by; every answer gets the security headers. */
export function installHostCheck(app: FastifyInstance, options: GuardOptions): void {
  const { config } = options;
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
}

export function createGuard(options: GuardOptions): Guard {
  const { config, core, log } = options;
  const identify = identitiesFromConfig(config.people);
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

  function toSignIn(request: FastifyRequest, reply: FastifyReply) {
    if (request.method === 'GET' && crossSite(request.headers) && request.cookies[COOKIE] === undefined) {
      return send(reply, 200, bouncePage());
    }
    return reply.code(303).redirect('/signin');
  }

  function guarded(command: string, handler: PageHandler) {
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

  return { viewerOf, may, send, page, toSignIn, guarded };
}
