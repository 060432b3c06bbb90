// The bot's view of one MUC room: whether it is joined, its own nick there, and every occupant's real
// JID from presence (joins, nick changes, leaves). Pure state: the adapter feeds it presences and acts
// on what `apply` returns.
import { type MucPresence, type Occupant, type RoomView, STATUS } from './stanzas.ts';

/** What a presence changed for the bot itself. */
export type RoomChange =
  | { kind: 'joined'; seesRealJids: boolean }
  | { kind: 'left'; rejoin: boolean; reason: string }
  | { kind: 'join-failed'; error: string }
  | { kind: 'none' };

export class MucRoom implements RoomView {
  readonly jid: string;
  /** The nick the bot asks for when it joins. */
  wantedNick: string;
  status: 'left' | 'joining' | 'joined' = 'left';
  /** The join is complete (the subject, which follows the history, has arrived): messages are live. */
  live = false;
  /** Counts joins, so a timer of an earlier join can tell it is stale. */
  session = 0;
  ownNick: string;
  /** The room shows real JIDs to the bot (non-anonymous, or the bot is a moderator). */
  seesRealJids = false;
  readonly #occupants = new Map<string, Occupant>();

  constructor(jid: string, nick: string) {
    this.jid = jid;
    this.wantedNick = nick;
    this.ownNick = nick;
  }

  get joined(): boolean {
    return this.status === 'joined';
  }

  occupant(nick: string): Occupant | undefined {
    return this.#occupants.get(nick);
  }

  /** Number of occupants the bot knows of (itself included). */
  get size(): number {
    return this.#occupants.size;
  }

  /** A join presence is on its way: occupants are learnt again from scratch. */
  joining(): void {
    this.status = 'joining';
    this.live = false;
    this.session += 1;
    this.ownNick = this.wantedNick;
    this.#occupants.clear();
  }

  /** The session is gone (new session, or the room told us we left). */
  reset(): void {
    this.status = 'left';
    this.live = false;
    this.#occupants.clear();
  }

  apply(presence: MucPresence): RoomChange {
    const isSelf = presence.statuses.has(STATUS.self);
    if (presence.type === 'error') {
      if (this.status === 'joining' && presence.nick === this.ownNick) {
        this.status = 'left';
        return { kind: 'join-failed', error: presence.error ?? 'unknown error' };
      }
      return { kind: 'none' };
    }
    if (presence.type === 'unavailable') {
      if (presence.statuses.has(STATUS.nickChanged) && presence.newNick) {
        const known = this.#occupants.get(presence.nick);
        this.#occupants.delete(presence.nick);
        if (known) this.#occupants.set(presence.newNick, known);
        if (isSelf) {
          this.ownNick = presence.newNick;
          this.wantedNick = presence.newNick;
        }
        return { kind: 'none' };
      }
      this.#occupants.delete(presence.nick);
      if (!isSelf) return { kind: 'none' };
      const wasIn = this.status !== 'left';
      this.reset();
      if (!wasIn) return { kind: 'none' };
      const banned = presence.statuses.has(STATUS.banned);
      const reason = banned
        ? 'banned'
        : presence.destroyed
          ? 'room destroyed'
          : presence.statuses.has(STATUS.kicked)
            ? 'kicked'
            : 'removed';
      return { kind: 'left', rejoin: !banned && !presence.destroyed, reason };
    }
    const previous = this.#occupants.get(presence.nick);
    const occupant: Occupant = {};
    // A presence update that omits the JID keeps the one this occupant's session showed before.
    const realJid = presence.realJid ?? previous?.realJid;
    if (realJid) occupant.realJid = realJid;
    if (presence.role) occupant.role = presence.role;
    if (presence.affiliation) occupant.affiliation = presence.affiliation;
    this.#occupants.set(presence.nick, occupant);
    if (!isSelf) return { kind: 'none' };
    this.ownNick = presence.nick;
    this.seesRealJids = presence.statuses.has(STATUS.nonAnonymous) || presence.role === 'moderator';
    if (this.status === 'joined') return { kind: 'none' };
    this.status = 'joined';
    return { kind: 'joined', seesRealJids: this.seesRealJids };
  }

  /** A status-code message from the room itself (configuration changed). */
  configurationChanged(statuses: ReadonlySet<number>): void {
    if (statuses.has(STATUS.nowNonAnonymous)) this.seesRealJids = true;
    if (statuses.has(STATUS.nowSemiAnonymous) || statuses.has(STATUS.nowFullyAnonymous)) {
      this.seesRealJids = this.occupant(this.ownNick)?.role === 'moderator';
    }
  }
}
