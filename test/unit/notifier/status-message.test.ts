// What a bot instance reads back from the status-messages hash: the packed references and named
// writers it stores now, and the JSON objects and writerless values older bots stored, so a message
// posted before an upgrade is still edited (and taken over) after it.
import { describe, expect, it } from 'vitest';
import { readStatusMessage } from '../../../src/notifier/status-leases.ts';

describe('status message as stored', () => {
  it('reads a packed reference with its writer named after it', () => {
    expect(readStatusMessage('["slack","C1","1700.1"]\nbot-a')).toEqual({
      ref: { network: 'slack', room: 'C1', id: '1700.1' },
    });
    expect(readStatusMessage('["matrix","!r:h","$e","$root"]\nbot-b')).toEqual({
      ref: { network: 'matrix', room: '!r:h', id: '$e', thread: '$root' },
    });
  });

  it('reads a reference an older bot stored as a JSON object, without a writer', () => {
    expect(readStatusMessage('{"network":"xmpp","room":"ops@conf","id":"m1"}')).toEqual({
      ref: { network: 'xmpp', room: 'ops@conf', id: 'm1' },
    });
  });

  it('reads a reservation with or without its writer, and leaves an unreadable one alone', () => {
    const reservation = { by: 'bot-a', target: { network: 'slack', room: 'C1' }, txnId: 'vmops.status.j.1' };
    const pending = `pending:${JSON.stringify(reservation)}`;
    expect(readStatusMessage(`${pending}\nbot-a`)).toEqual({ reservation });
    expect(readStatusMessage(pending)).toEqual({ reservation });
    expect(readStatusMessage('pending:{"target":"old"}\nbot-a')).toBeUndefined();
  });
});
