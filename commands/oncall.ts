// `oncall`: who is on call to approve requests now and next. Admins may put someone else on call for a
// while (`oncall set <person> [until]`) and end that (`oncall clear`).
import { DateTime } from 'luxon';
import ms from 'ms';
import { accountKey, roomKey } from '../src/chat/chat-keys.ts';
import { VmopsError } from '../src/errors.ts';
import type { CommandContext, CommandSpec } from '../src/grammar/command-spec.ts';
import { echo } from '../src/grammar/echo.ts';
import { suggest } from '../src/grammar/suggest.ts';
import { showTime } from '../src/oncall/rota.ts';
import { hasRole } from '../src/people/roles.ts';

const USAGE =
  'Usage: oncall | oncall set <person> [until: 8h, 3d, 2026-12-01, "2026-12-01 09:00"] | oncall clear';
const LONGEST_MS = 90 * 24 * 3600_000;

/** `8h`, `3d`, `2026-12-01`, `2026-12-01 09:00` (in the rota's time zone) → ms since epoch. */
export function parseUntil(words: string, now: number, timezone: string): number {
  const text = words.trim();
  const span = /^\d+\s*[a-z]+$/i.test(text) ? ms(text as ms.StringValue) : undefined;
  let at: number | undefined;
  if (typeof span === 'number' && Number.isFinite(span)) at = now + span;
  else {
    const date = DateTime.fromFormat(text, 'yyyy-MM-dd HH:mm', { zone: timezone });
    const day = DateTime.fromFormat(text, 'yyyy-MM-dd', { zone: timezone });
    if (date.isValid) at = date.toMillis();
    else if (day.isValid) at = day.toMillis();
  }
  if (at === undefined) {
    throw new VmopsError(
      'bad_argument',
      `${echo(text)} is not a time: write a duration (8h, 3d) or a date (2026-12-01, "2026-12-01 09:00", ${timezone}). ${USAGE}`,
    );
  }
  if (at <= now)
    throw new VmopsError(
      'bad_argument',
      `${echo(text)} is in the past: the override must end later. ${USAGE}`,
    );
  if (at - now > LONGEST_MS) {
    throw new VmopsError(
      'bad_argument',
      `${echo(text)} is more than 90 days away: change the rota in the config instead.`,
    );
  }
  return at;
}

async function show(ctx: CommandContext): Promise<string> {
  const tz = ctx.config.oncall.timezone;
  const { current, next } = await ctx.oncall.whoIsOnCall();
  if (!current) {
    return 'Nobody is on call: the config has no oncall.rota and no admin has set anyone. Requests go to the people with the approver role.';
  }
  const how = current.source === 'override' ? `set by ${current.setBy}` : 'rota';
  const lines = [`On call now: ${current.person} (${how}), until ${showTime(current.until, tz)}.`];
  if (next) lines.push(`Next: ${next.person}, from ${showTime(next.from, tz)}.`);
  return lines.join('\n');
}

export const command: CommandSpec = {
  name: 'oncall',
  summary: 'show who is on call to approve requests',
  description:
    'Shows who is on call now and who is next, from the rota in the config (oncall.rota) or an admin override. Admins: `oncall set <person> [until]` puts someone on call (until the next hand-over unless a time is given); `oncall clear` ends that.',
  examples: ['oncall', 'oncall set dave 8h', 'oncall set dave "2026-12-01 09:00"', 'oncall clear'],
  access: 'anyone',
  args: [{ name: 'change', kind: 'text', optional: true }],
  async run(ctx, args) {
    const words = (args.text ?? '').trim().split(/\s+/).filter(Boolean);
    const [action, who, ...rest] = words;
    if (action === undefined) return { reply: { tone: 'info', text: await show(ctx) } };
    if (action !== 'set' && action !== 'clear') {
      throw new VmopsError('bad_argument', `oncall does not know ${echo(action)}. ${USAGE}`);
    }
    if (!hasRole(ctx.principal, 'admin')) {
      throw new VmopsError(
        'forbidden',
        `oncall ${action} needs the admin role; you (${ctx.principal.id}) do not have it.`,
      );
    }
    const actor = {
      actor: ctx.principal.id,
      account: accountKey(ctx.principal),
      room: roomKey(ctx.message.target),
    };
    if (action === 'clear') {
      if (who !== undefined)
        throw new VmopsError('unexpected_argument', `oncall clear takes nothing more. ${USAGE}`);
      const ended = await ctx.oncall.clear();
      await ctx.audit.record(
        {
          kind: 'oncall.cleared',
          ...actor,
          summary: `${ctx.principal.id} ended the on-call override`,
          detail: { was: ended?.person ?? null },
        },
        ctx.log,
      );
      const text = ended
        ? `${ended.person} is no longer on call by override.\n${await show(ctx)}`
        : `There was no override.\n${await show(ctx)}`;
      return { reply: { tone: 'ok', text } };
    }
    const people = Object.keys(ctx.config.people);
    if (who === undefined)
      throw new VmopsError('missing_argument', `oncall set needs a person (${people.join(', ')}). ${USAGE}`);
    const person = who.toLowerCase();
    if (!people.includes(person)) {
      const close = suggest(person, people);
      throw new VmopsError(
        'bad_argument',
        `no person ${echo(who)} in the config${close ? ` (did you mean ${close}?)` : ''}. People: ${people.join(', ')}`,
      );
    }
    const roles = ctx.config.people[person]?.roles ?? [];
    if (!roles.includes('approver') && !roles.includes('admin')) {
      throw new VmopsError(
        'bad_argument',
        `${person} has ${roles.length > 0 ? `the roles ${roles.join(', ')}` : 'no roles'}: the person on call answers approval requests, so they need the approver role (people.${person}.roles in the config).`,
      );
    }
    const until =
      rest.length > 0 ? parseUntil(rest.join(' '), ctx.oncall.now(), ctx.config.oncall.timezone) : undefined;
    const set = await ctx.oncall.set(person, until, ctx.principal.id);
    await ctx.audit.record(
      {
        kind: 'oncall.set',
        ...actor,
        summary: `${ctx.principal.id} put ${person} on call until ${new Date(set.until).toISOString()}`,
        detail: { person, until: set.until },
      },
      ctx.log,
    );
    return {
      reply: {
        tone: 'ok',
        text: `${person} is on call until ${showTime(set.until, ctx.config.oncall.timezone)}.`,
      },
    };
  },
};
