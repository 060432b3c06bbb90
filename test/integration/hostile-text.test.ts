// Nothing raw reaches a room, a terminal or an admin's screen: hostile strings (terminal escapes, NUL,
// bell, C1 controls, bidi overrides and marks) fed to every command's reply path, as words, as the
// name of the account that speaks, and as a step's output, come back escaped or refused, never raw.
// The audit trail keeps them verbatim and `audit` shows them escaped.
import { afterEach, describe, expect, it } from 'vitest';
import { allCommands } from '../../commands/index.ts';
import { hasUnsafe } from '../../src/render/untrusted.ts';
import { type Engine, startEngine, testConfig } from '../helpers/engine.ts';
import { message } from '../helpers/fake-chat.ts';

const HOSTILE = [
  '\u001b]0;owned\u0007\u001b[31m',
  'nul\u0000byte',
  '\u009b31mC1',
  '\u202Eevil',
  '\u200Fbuild',
  'line\u2028break',
];

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

async function say(text: string, account: string) {
  if (!engine) throw new Error('no engine');
  return engine.core.handle(
    message(text, {
      account,
      sender: { id: account, displayName: `${account}\u001b[2J\u202E`, isBot: false, isSelf: false },
      mentioned: true,
    }),
  );
}

/** Every text the bot put in a room, every version of every message. */
const everythingSent = () => engine?.chat.sent.flatMap((m) => m.versions.map((v) => v.text)) ?? [];

describe('untrusted text', () => {
  it('never sends a raw control or bidi character, whatever reaches a command', async () => {
    engine = await startEngine({
      config: testConfig((config) => {
        const product = config.products.cernvm;
        if (product)
          product.stages.build = {
            steps: [{ name: 'hostile', run: ['test/fixtures/steps/hostile-output.sh'] }],
          };
      }),
    });
    // A job whose steps print hostile output, looked at through every job view.
    const built = await say('build 2.6 kvm', 'alice');
    await engine.core.notifier.whenSettled(built.jobs);
    const job = built.jobs[0] ?? '';
    for (const text of [`log ${job}`, `status ${job}`, 'jobs', `report ${job}`, 'images', 'images 2.6']) {
      await say(text, 'alice');
    }
    // Every command, with each hostile string as its words, from a known person, an admin and a guest
    // whose account name is itself hostile.
    for (const spec of allCommands) {
      for (const hostile of HOSTILE) {
        for (const account of ['alice', 'root', `mallory${hostile}`]) {
          await say(`${spec.name} ${hostile}`, account);
          await say(`${spec.name} 2.6 ${hostile}`, account);
        }
      }
    }
    await say('audit 100', 'root');
    const sent = everythingSent();
    expect(sent.length).toBeGreaterThan(allCommands.length * HOSTILE.length);
    const raw = sent.filter((text) => hasUnsafe(text, 'terminal'));
    expect(raw).toEqual([]);
    // The step's output is there, escaped: the log shows what the step printed.
    expect(sent.join('\n')).toContain('\\x1b]0;owned\\x07\\x1b[31mred\\x00 nul \\x9b c1 \\u202eevil');
  });

  it('keeps a refused command verbatim in the audit trail and shows it escaped', async () => {
    engine = await startEngine({ worker: false });
    const typed = 'build 2.6 \u001b]0;pwned\u0007\u001b[31m kvm\u0000';
    await say(typed, 'mallory');
    const stored = (await engine.core.audit.recent(5)).find((entry) => entry.kind === 'command');
    expect(stored?.summary).toBe(`guest:fake:mallory: ${typed}`);
    await say('audit 5', 'root');
    const shown = engine.chat.sent.at(-1)?.versions.at(-1)?.text ?? '';
    expect(shown).toContain('guest:fake:mallory: build 2.6 \\x1b]0;pwned\\x07\\x1b[31m kvm\\x00');
    expect(hasUnsafe(shown, 'terminal')).toBe(false);
  });
});
