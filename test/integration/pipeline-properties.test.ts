// Bad input at scale, through the whole pipeline (engine over FakeChat, real Redis): generated text,
// unicode, huge messages and shell injection strings (`$(…)`, backticks, `;`, newlines, NUL, a leading
// `-`, quotes) never crash the bot, get at most one reply each, bounded by the adapter's
// maxMessageLength, and queue no job unless they bind to words from config. The one free text a job
// carries (`revoke --reason`) reaches the worker's step as an environment variable, byte for byte,
// and is never interpreted. failure-modes.md #7. The flood throttle is in failure-modes.test.ts.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.ts';
import { VERSION_PATTERN } from '../../src/grammar/bind-args.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import type { IncomingMessage } from '../../src/types.ts';
import { type Engine, startEngine, testConfig } from '../helpers/engine.ts';
import { FakeChat, message } from '../helpers/fake-chat.ts';
import { redisUrl } from '../helpers/redis.ts';

/** Small enough that help, refusals that echo input and status messages are all cut somewhere. */
const MAX_MESSAGE = 300;
/** A file that exists only if some shell ran one of the injected commands. */
const scratch = mkdtempSync(join(tmpdir(), 'vmops-props-'));
const CANARY = join(scratch, 'pwned');
const FORMATS = ['kvm', 'vmware', 'virtualbox', 'xen', 'hyperv', 'ec2'];

const redis = new Redis(redisUrl());
afterAll(async () => {
  redis.disconnect();
  rmSync(scratch, { recursive: true, force: true });
});

const INJECTIONS = [
  `$(touch ${CANARY})`,
  `\`touch ${CANARY}\``,
  `; touch ${CANARY}`,
  `&& touch ${CANARY}`,
  `| touch ${CANARY}`,
  `> ${CANARY}`,
  `\ntouch ${CANARY}`,
  '\r\n',
  '\0',
  '\u2028',
  '\u001b[2J',
  '-rf',
  '--help',
  '-',
  '--',
  '"',
  "'",
  '""',
  "''",
  '“',
  '’',
  '\\',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell's parameter expansion, on purpose
  '${IFS}',
  '%s%n%x',
  '../../../../etc/passwd',
  '\u202e',
  '\u200b',
  '\ufeff',
  'é',
  'ﬁ',
  '🦀',
  '👩‍👩‍👧',
  'a\u0301\u0301\u0301',
  '\ud800',
];

const TEMPLATES = [
  'build 2.6 kvm',
  'build cernvm 2.6 vmware virtualbox',
  'test 2.6 kvm',
  'publish 2.6 kvm',
  'deploy 2.6 local',
  'update 2.6',
  'revoke 2.6 --reason x',
  'log abcdefgh --tail 5',
  'status abcdefgh',
  'cancel abcdefgh',
  'retry abcdefgh',
  'jobs --limit 3',
  'images 2.6',
  'subscribe built',
  'approve r-abc',
  'report abcdefgh',
  'help build',
  'whoami',
];

/** A known command with injections put in at random places (between words or inside one). */
const injected = fc
  .tuple(
    fc.constantFrom(...TEMPLATES),
    fc.array(fc.tuple(fc.constantFrom(...INJECTIONS), fc.nat(), fc.boolean()), { maxLength: 4 }),
  )
  .map(([template, parts]) => {
    let text = template;
    for (const [part, at, spaced] of parts) {
      const i = at % (text.length + 1);
      text = `${text.slice(0, i)}${spaced ? ` ${part} ` : part}${text.slice(i)}`;
    }
    return text;
  });

/** Messages far over any limit: a refusal must not echo them back whole. */
const huge = fc
  .tuple(
    fc.constantFrom('build 2.6 ', 'x', '$(reboot) ', '🦀', 'é ', '"'),
    fc.integer({ min: 2000, max: 200_000 }),
  )
  .map(([unit, times]) => unit.repeat(Math.ceil(times / unit.length)));

/** Commands that may well run: stage commands with generated versions, formats and quoting. */
const plausible = fc
  .tuple(
    fc.constantFrom('build', 'test', 'publish', 'Build', 'BUILD'),
    fc.constantFrom('', 'cernvm ', '"cernvm" '),
    fc.array(fc.nat(30), { minLength: 1, maxLength: 4 }).map((n) => n.join('.')),
    fc.array(fc.constantFrom(...FORMATS, 'vbox', 'qcow2', 'all', "'kvm'", '"xen"', 'kvm;', '-kvm', 'KVM'), {
      minLength: 1,
      maxLength: 3,
    }),
  )
  .map(([command, product, version, formats]) => `${command} ${product}${version} ${formats.join(' ')}`);

const anyText = fc.oneof(
  { weight: 3, arbitrary: injected },
  { weight: 2, arbitrary: plausible },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 100 }) },
  { weight: 1, arbitrary: huge },
);

const how = fc.record({
  account: fc.constantFrom('alice', 'bob', 'mallory', 'root'),
  direct: fc.boolean(),
  addressed: fc.constantFrom('', 'vmops: ', '@vmops ', 'vmops, '),
});

/** Every message a room got since `before`: replies and the status messages of `jobs`. */
function newMessages(chat: FakeChat, before: number, room: string) {
  return chat.sent.slice(before).filter((m) => m.target.room === room);
}

describe('any text through the whole pipeline', () => {
  let engine: Engine;
  beforeAll(async () => {
    // No worker: whatever gets queued stays queued, to be looked at.
    engine = await startEngine({
      chat: new FakeChat('fake', { maxMessageLength: MAX_MESSAGE }),
      worker: false,
    });
  });
  afterAll(async () => {
    await engine.stop();
  });

  it('never crashes, answers at most once within maxMessageLength, and queues only jobs named from config', async () => {
    const keys = redisKeys(engine.config.redis.prefix);
    let queued = 0;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(anyText, how, async (text, who) => {
        n += 1;
        const room = `room-${n}`;
        const event: IncomingMessage = message(`${who.addressed}${text}`, {
          account: who.account,
          target: { network: 'fake', room, isDirect: who.direct },
          mentioned: who.addressed !== '',
        });
        const before = engine.chat.sent.length;
        const handled = await engine.core.handle(event);
        await Promise.all(handled.jobs.map((id) => engine.core.notifier.posted(id)));
        // No crash, and no internal error: every bad input is refused with a reason.
        expect(handled.outcome).not.toBe('failed');
        const sent = newMessages(engine.chat, before, room);
        for (const m of sent) {
          for (const version of m.versions) {
            expect(Array.from(version.text).length).toBeLessThanOrEqual(MAX_MESSAGE);
            expect(version.text).not.toContain('Something went wrong inside vmops');
          }
        }
        // One status message per job, and at most one reply besides.
        const statuses = sent.filter((m) => m.versions[0]?.status !== undefined);
        expect(statuses).toHaveLength(handled.jobs.length);
        expect(sent.length - statuses.length).toBeLessThanOrEqual(1);
        if (handled.outcome === 'ignored') expect(sent).toHaveLength(0);
        // A job only from words that bound to config: a known format and a version number.
        for (const jobId of handled.jobs) {
          const view = await engine.core.jobs.get(jobId);
          expect(view?.version).toMatch(VERSION_PATTERN);
          if (view?.format !== undefined) expect(FORMATS).toContain(view.format);
          expect(view?.product).toBe('cernvm');
        }
        queued += handled.jobs.length;
        expect(await redis.hlen(keys.jobIndex)).toBe(queued);
      }),
      { numRuns: 300, interruptAfterTimeLimit: 15_000 },
    );
    expect(existsSync(CANARY)).toBe(false);
  }, 30_000);
});

describe('free text that reaches a step', () => {
  let engine: Engine;
  const records = join(scratch, 'records');
  beforeAll(async () => {
    mkdirSync(records);
    const config = testConfig((c) => {
      c.policy.approvals.revoke = false; // the reason goes straight to a job (approvals re-bind the same text)
      const revoke = c.products.cernvm?.stages.revoke;
      if (revoke) {
        revoke.steps = [
          {
            name: 'record',
            // Arguments from config pass as they are, too: no shell splits or expands them.
            run: ['test/fixtures/steps/record-words.sh', `$(touch ${CANARY})`, `; touch ${CANARY}`],
            env: { RECORD_DIR: records },
          },
        ];
      }
    });
    engine = await startEngine({ config, chat: new FakeChat('fake', { maxMessageLength: MAX_MESSAGE }) });
  });
  afterAll(async () => {
    await engine.stop();
  });

  /** Reason text as a person types it inside double quotes: no `"`, no control characters (refused). */
  const piece = fc.oneof(
    fc.constantFrom(...INJECTIONS.filter((s) => !/["\u201c\u2019\u2028\ud800]|\p{Cc}/u.test(s))),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.constantFrom(' ', '  ', '\t', '-', '--reason', 'reason=x', "it's"),
  );
  const reason = fc
    .array(piece, { maxLength: 6 })
    .map((parts) => parts.join(''))
    // Refused or rewritten by the tokenizer on purpose: double quotes (all kinds), single typographic
    // quotes (turned into '), control characters, line separators, and the invisible direction marks,
    // embeddings, overrides and isolates (a command must read as it runs; test/unit/grammar has those).
    .filter(
      (s) =>
        !/["\u201c-\u201f\u2018-\u201b\p{Cc}\u2028\u2029\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u.test(
          s.replace(/\t/g, ''),
        ),
    );

  it('hands the reason to the step as VMOPS_PARAM_REASON, byte for byte, never through a shell', async () => {
    const catalog = new Catalog(redis, redisKeys(engine.config.redis.prefix));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(reason, async (text) => {
        n += 1;
        const version = `7.${n}`;
        // A built image, so the gates let the revoke through (no build needed).
        await catalog.putImage({
          product: 'cernvm',
          version,
          format: 'kvm',
          state: 'built',
          job: 'seed',
          by: 'alice',
        });
        const before = engine.chat.sent.length;
        const handled = await engine.core.handle(message(`revoke ${version} --reason "${text}"`));
        expect(handled.outcome).toBe('done');
        expect(handled.jobs).toHaveLength(1);
        const [jobId = ''] = handled.jobs;
        await engine.core.notifier.whenSettled(handled.jobs);
        const status = engine.chat.sent.slice(before).find((m) => m.versions[0]?.status?.jobId === jobId);
        expect(status?.versions.at(-1)?.text).toMatch(/^✅ revoke cernvm/);
        const words = readFileSync(join(records, jobId), 'utf8').split('\0');
        const trimmed = text.trim();
        expect(words).toEqual([
          '2',
          `$(touch ${CANARY})`,
          `; touch ${CANARY}`,
          version,
          trimmed === '' ? 'unset:' : `set:${trimmed}`,
          '',
        ]);
      }),
      { numRuns: 100, interruptAfterTimeLimit: 12_000 },
    );
    expect(n).toBeGreaterThan(10);
    expect(existsSync(CANARY)).toBe(false);
  }, 30_000);
});
