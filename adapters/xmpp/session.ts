// Waiting for a new XMPP session to be ready for traffic. @xmpp/client emits `online` as soon as the
// resource is bound, before stream management (XEP-0198) is enabled; stanzas the server sends in
// answer to anything said in that gap are counted by the client after its counter was reset, so it
// acknowledges more than the server sent, and Prosody closes the stream ("Client acknowledged more
// stanzas than sent by server"). So nothing is sent until <enabled/> (or <failed/>) has arrived and
// been processed. Then the session is made available (presence, and a ping round trip).
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Client, type Element, xml } from '@xmpp/client';
import { NS } from './stanzas.ts';

export const NS_SM = 'urn:xmpp:sm:3';
const NS_STREAM = 'http://etherx.jabber.org/streams';

/** Follows the stream features: whether the current stream offers stream management. */
export function watchStreamManagementOffer(xmpp: Client): () => boolean {
  let offered = false;
  xmpp.on('element', (element: Element) => {
    if (element.is('features', NS_STREAM)) offered = element.getChild('sm', NS_SM) !== undefined;
  });
  return () => offered;
}

/**
 * Resolves once stream management is negotiated (or not offered, or after `timeoutMs`). Call it in the
 * same turn as the `online` event or right after `start()` resolves: the answer cannot have come yet.
 */
export async function streamManagementSettled(
  xmpp: Client,
  offered: boolean,
  timeoutMs = 10_000,
): Promise<void> {
  if (offered && !xmpp.streamManagement.enabled) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        xmpp.off('nonza', onNonza);
        resolve();
      }
      function onNonza(element: Element) {
        if (element.is('enabled', NS_SM) || element.is('failed', NS_SM)) done();
      }
      xmpp.on('nonza', onNonza);
    });
  }
  // @xmpp/stream-management resets its counter in a continuation after <enabled/>: let it run.
  await nextTurn();
}

/**
 * Makes a new session available, so messages to the bare JID reach it; false when the session was lost
 * at once. Then a round trip to the server: once it answers, it has handled the presence too (one
 * stream is handled in order), so a direct message sent from now on reaches this session live instead
 * of going to offline storage and coming back later marked delayed (backlog, judged by its age).
 */
export async function becomeAvailable(xmpp: Client, server: string): Promise<boolean> {
  try {
    await xmpp.send(xml('presence'));
  } catch {
    return false;
  }
  await xmpp.iqCaller
    .request(xml('iq', { type: 'get', to: server }, xml('ping', { xmlns: NS.ping })), 10_000)
    .catch(() => undefined); // a server without ping still got the presence first
  return true;
}
