// Socket Mode as Slack runs it: apps.connections.open hands out a one-use ws:// URL (a ticket); on
// connect, `hello`; envelopes {envelope_id, type, payload, …} that must be acked ({envelope_id})
// within `redeliverAfterMs` (Slack: 3 s), else they are sent again, up to `maxRedeliveries` times, with
// retry_attempt counting up, to another open connection when there is one; envelopes wait while no
// connection is open; `{"type":"disconnect"}` frames; pings every `pingIntervalMs`.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage as HttpRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { SlackState } from './state.ts';
import type { Connection, Envelope, Outstanding } from './types.ts';

export interface SocketModeOptions {
  redeliverAfterMs: number;
  maxRedeliveries: number;
  pingIntervalMs: number;
}

export class SocketMode {
  connections: Connection[] = [];
  /** Every envelope sent (each attempt), with the connection it went to. */
  readonly sent: { envelope: Envelope; connection: number }[] = [];
  readonly acks: { envelopeId: string; payload: unknown; connection: number }[] = [];
  readonly #state: SlackState;
  readonly #o: SocketModeOptions;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #tickets = new Set<string>();
  readonly #outstanding = new Map<string, Outstanding>();
  readonly #waiting: Outstanding[] = [];
  #nextConnection = 0;
  #pinger: NodeJS.Timeout | undefined;

  constructor(state: SlackState, options: SocketModeOptions) {
    this.#state = state;
    this.#o = options;
  }

  start(): void {
    this.#pinger = setInterval(() => {
      for (const c of this.connections) if (c.open) c.ws.ping();
    }, this.#o.pingIntervalMs);
  }

  stop(): void {
    clearInterval(this.#pinger);
    for (const o of this.#outstanding.values()) clearTimeout(o.timer);
    this.#outstanding.clear();
    for (const c of this.connections) c.ws.terminate();
    this.#wss.close();
  }

  /** apps.connections.open: a one-use URL to connect to. */
  connectionUrl(): string {
    const ticket = randomUUID();
    this.#tickets.add(ticket);
    return `ws://127.0.0.1:${this.#state.port}/link/?ticket=${ticket}`;
  }

  /** An HTTP upgrade: a connection when it carries a ticket not used yet. */
  upgrade(req: HttpRequest, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/link/' || !this.#tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws));
  }

  /** Open connections, oldest first. */
  openConnections(): Connection[] {
    return this.connections.filter((c) => c.open);
  }

  /** Sends `{"type":"disconnect"}` on every open connection (Slack does so before recycling a host). */
  disconnect(reason = 'refresh_requested'): void {
    for (const c of this.openConnections()) {
      c.ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-slack' } }));
      // Nothing new goes to a connection told to go away; what it got and did not ack is redelivered.
      c.open = false;
    }
    this.#state.changed();
  }

  /** Drops every connection without a word (the network went away). */
  dropConnections(): void {
    for (const c of this.openConnections()) c.ws.terminate();
  }

  /**
   * Sends an envelope (now, or when a connection opens). `to`: the index of an open connection.
   * `loseAck`: the ack of the first delivery is lost, because the connection drops as it comes.
   */
  deliver(
    type: Envelope['type'],
    payload: Record<string, unknown>,
    options: { to?: number; loseAck?: boolean; retryAttempt?: number } = {},
  ): Envelope {
    const envelope: Envelope = {
      envelope_id: randomUUID(),
      type,
      payload,
      accepts_response_payload: type !== 'events_api',
      ...(type === 'events_api'
        ? { retry_attempt: options.retryAttempt ?? 0, retry_reason: options.retryAttempt ? 'timeout' : '' }
        : {}),
    };
    const outstanding: Outstanding = {
      envelope,
      attempts: 0,
      timer: undefined,
      connection: undefined,
      loseAck: options.loseAck ?? false,
    };
    this.#outstanding.set(envelope.envelope_id, outstanding);
    const target = options.to === undefined ? undefined : this.openConnections()[options.to];
    if (options.to !== undefined && !target) throw new Error(`no open connection ${options.to}`);
    this.#send(outstanding, target);
    return envelope;
  }

  /** Envelopes sent but not acknowledged (nor given up). */
  get unacked(): number {
    return this.#outstanding.size;
  }

  #send(outstanding: Outstanding, preferred?: Connection): void {
    const open = this.openConnections();
    // A redelivery goes to another connection when there is one.
    const others = open.filter((c) => c !== outstanding.connection);
    const pool = others.length > 0 ? others : open;
    const connection = preferred ?? pool[this.#nextConnection++ % Math.max(1, pool.length)];
    if (!connection) {
      if (!this.#waiting.includes(outstanding)) this.#waiting.push(outstanding);
      return;
    }
    if (outstanding.attempts > 0 && outstanding.envelope.type === 'events_api') {
      outstanding.envelope.retry_attempt = outstanding.attempts;
      outstanding.envelope.retry_reason = 'timeout';
    }
    outstanding.attempts += 1;
    outstanding.connection = connection;
    connection.received.push(outstanding.envelope.envelope_id);
    connection.ws.send(JSON.stringify(outstanding.envelope));
    this.sent.push({ envelope: structuredClone(outstanding.envelope), connection: connection.id });
    this.#state.changed();
    clearTimeout(outstanding.timer);
    outstanding.timer = setTimeout(() => {
      outstanding.timer = undefined;
      if (!this.#outstanding.has(outstanding.envelope.envelope_id)) return;
      if (outstanding.attempts > this.#o.maxRedeliveries) {
        this.#outstanding.delete(outstanding.envelope.envelope_id);
        return;
      }
      this.#send(outstanding);
    }, this.#o.redeliverAfterMs);
  }

  #onConnection(ws: WebSocket): void {
    const connection: Connection = { id: this.connections.length, ws, open: true, received: [] };
    this.connections.push(connection);
    ws.on('close', () => {
      connection.open = false;
      this.#state.changed();
    });
    ws.on('error', () => undefined);
    ws.on('message', (data) => {
      let parsed: { envelope_id?: string; payload?: unknown };
      try {
        parsed = JSON.parse(String(data)) as typeof parsed;
      } catch {
        return;
      }
      const id = parsed.envelope_id;
      const outstanding = id ? this.#outstanding.get(id) : undefined;
      if (!id || !outstanding) return;
      if (outstanding.loseAck) {
        // The connection dies with the ack on it: Slack never sees the ack.
        outstanding.loseAck = false;
        ws.terminate();
        return;
      }
      clearTimeout(outstanding.timer);
      this.#outstanding.delete(id);
      this.acks.push({ envelopeId: id, payload: parsed.payload, connection: connection.id });
      this.#state.changed();
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.openConnections().length,
        debug_info: { host: 'fake-slack', approximate_connection_time: 18060 },
        connection_info: { app_id: 'A0VMOPS' },
      }),
    );
    this.#state.changed();
    for (const waiting of this.#waiting.splice(0)) {
      if (this.#outstanding.has(waiting.envelope.envelope_id)) this.#send(waiting);
    }
  }
}
