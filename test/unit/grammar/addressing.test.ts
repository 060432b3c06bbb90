import { describe, expect, it } from 'vitest';
import { commandText } from '../../../src/grammar/addressing.ts';
import type { IncomingMessage } from '../../../src/types.ts';

const message = (text: string, where: { isDirect?: boolean; mentioned?: boolean } = {}): IncomingMessage => ({
  eventId: 'e1',
  sender: { id: 'U1', displayName: 'Alice', isBot: false, isSelf: false },
  target: { network: 'slack', room: 'C1', isDirect: where.isDirect ?? false },
  text,
  mentioned: where.mentioned ?? false,
  sentAt: 0,
});

describe('commandText in a room', () => {
  it.each([
    ['@vmops build 2.6 kvm', 'build 2.6 kvm'],
    ['@VMOPS: build 2.6 kvm', 'build 2.6 kvm'],
    ['vmops: build 2.6 kvm', 'build 2.6 kvm'],
    ['VmOps, status', 'status'],
    ['  vmops:jobs  ', 'jobs'],
    ['!build 2.6 kvm', 'build 2.6 kvm'],
    ['@vmops', ''],
  ])('%j is addressed to the bot', (text, command) => {
    expect(commandText(message(text), 'vmops')).toBe(command);
  });

  it.each([
    'build 2.6 kvm',
    'vmops is down again',
    '@vmopsbot build',
    'vmopsy: build',
    '!!!',
    '! build',
    'hey @vmops build',
    '',
  ])('%j is not addressed to the bot', (text) => {
    expect(commandText(message(text), 'vmops')).toBeUndefined();
  });

  it('takes the whole text when the platform saw a mention', () => {
    expect(commandText(message(' build 2.6 kvm ', { mentioned: true }), 'vmops')).toBe('build 2.6 kvm');
    expect(commandText(message(': build', { mentioned: true }), 'vmops')).toBe('build');
  });

  it('works for bot names with a dash', () => {
    expect(commandText(message('ci-bot: jobs'), 'ci-bot')).toBe('jobs');
    expect(commandText(message('cixbot: jobs'), 'ci-bot')).toBeUndefined();
  });
});

describe('commandText in a direct message', () => {
  it.each([
    ['build 2.6 kvm', 'build 2.6 kvm'],
    ['vmops: build 2.6 kvm', 'build 2.6 kvm'],
    ['@vmops jobs', 'jobs'],
    ['!jobs', 'jobs'],
    ['! jobs', 'jobs'],
    ['   help  ', 'help'],
    ['', ''],
  ])('%j is the command %j', (text, command) => {
    expect(commandText(message(text, { isDirect: true }), 'vmops')).toBe(command);
  });
});
