// Sign-in and sign-out: a one-time link from `login` in a direct message is looked at (chat apps fetch
// links to preview them), then confirmed by a POST from this site, which sets the session cookie.

import { crossSite, tokenOf } from '../csrf.ts';
import { COOKIE } from '../guard.ts';
import { layout } from '../pages/layout.ts';
import { confirmLoginBody, deadLinkBody, refusedBody, signInBody } from '../pages/notices.ts';
import { equalSecret } from '../secret-compare.ts';
import type { RouteContext } from './route-context.ts';

export function registerSignInRoutes({ app, config, core, log, now, guard }: RouteContext): void {
  const { send, page, viewerOf } = guard;
  const secure = config.web.publicUrl?.startsWith('https:') ?? false;
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
}
