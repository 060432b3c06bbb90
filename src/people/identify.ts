// Identify: maps a network account (the platform's stable id, never a display name) to a person from
// config. An account that is not listed, or one the network says it hides, is a guest with no roles. On the web console's network (`web`)
// the account is the person id itself: the one-time login link that made the session was sent to, and
// asked for from, one of that person's chat accounts.
import type { Config } from '../../config/schema.ts';
import type { NetworkName, Principal, Role, Sender } from '../types.ts';

export type Identities = (network: NetworkName, sender: Sender) => Principal;

/** The web console's network name: its sender id is a person id proved by a login link. */
export const WEB_NETWORK = 'web';

/** XMPP JIDs compare without case (nodeprep and nameprep); other networks' ids are exact. */
function normalise(network: NetworkName, account: string): string {
  return network === 'xmpp' ? account.toLowerCase() : account;
}

export function identitiesFromConfig(people: Config['people']): Identities {
  const byAccount = new Map<string, { person: string; roles: readonly Role[] }>();
  for (const [person, spec] of Object.entries(people)) {
    for (const [network, account] of Object.entries(spec.accounts)) {
      byAccount.set(`${network}\u0000${normalise(network, account)}`, { person, roles: spec.roles });
    }
  }
  const byPerson = (id: string) => {
    const spec = Object.hasOwn(people, id) ? people[id] : undefined;
    return spec ? { person: id, roles: spec.roles } : undefined;
  };
  return (network, sender) => {
    const found =
      network === WEB_NETWORK
        ? byPerson(sender.id)
        : byAccount.get(`${network}\u0000${normalise(network, sender.id)}`);
    const account = { network, id: sender.id };
    // A sender the network hides (a nickname in an anonymous room) is nobody in particular, whatever its id.
    if (found && sender.hiddenBecause === undefined)
      return { id: found.person, known: true, roles: found.roles, account, displayName: sender.displayName };
    return {
      id: `guest:${network}:${sender.id}`,
      known: false,
      roles: [],
      account,
      displayName: sender.displayName,
    };
  };
}
