// Minimal types for the parts of @xmpp/client 0.14 (and its ltx elements) that vmops uses. The package
// ships no TypeScript types; this covers only what adapters/xmpp and its tests call.
declare module '@xmpp/client' {
  /** An XML element (ltx). */
  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    parent: Element | null;
    is(name: string, xmlns?: string): boolean;
    getNS(): string | undefined;
    getAttr(name: string): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    text(): string;
    append(...nodes: (Element | string)[]): Element;
    toString(): string;
  }

  type Child = Element | string | null | undefined | false;

  /** Builds an element: xml('message', { to }, xml('body', {}, 'hi')). */
  export function xml(
    name: string,
    attrs?: Record<string, string | number | undefined> | null,
    ...children: Child[]
  ): Element;

  /** An XMPP address. */
  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
    equals(other: JID): boolean;
  }

  export function jid(address: string): JID;
  export function jid(local: string | null, domain: string, resource?: string): JID;

  /** A stanza error (iq/message/presence type=error), as iqCaller.request rejects with. */
  export interface StanzaError extends Error {
    name: 'StanzaError';
    condition: string;
    text: string;
    type?: string;
  }

  export interface ClientOptions {
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    timeout?: number;
  }

  interface Emitter {
    on(event: string, listener: (...args: never[]) => void): this;
    off(event: string, listener: (...args: never[]) => void): this;
    once(event: string, listener: (...args: never[]) => void): this;
    removeAllListeners(event?: string): this;
  }

  export interface Reconnect extends Emitter {
    /** Milliseconds before the next reconnection attempt; read when a disconnect is seen. */
    delay: number;
    start(): void;
    stop(): void;
  }

  export interface StreamManagement extends Emitter {
    enabled: boolean;
    enableSent: boolean;
    id: string;
    /** Milliseconds without an answer to <r/> before the connection is dropped. */
    timeout: number;
    requestAckInterval: number;
    /** Milliseconds after a stanza before <r/> is sent (a run of stanzas shares one). */
    requestAckDebounce: number;
  }

  export interface IqCaller {
    request(stanza: Element, timeout?: number): Promise<Element>;
  }

  export type Status =
    | 'offline'
    | 'connecting'
    | 'connect'
    | 'opening'
    | 'open'
    | 'online'
    | 'closing'
    | 'close'
    | 'disconnecting'
    | 'disconnect';

  export interface Client extends Emitter {
    status: Status;
    jid: JID | null;
    reconnect: Reconnect;
    streamManagement: StreamManagement;
    iqCaller: IqCaller;
    start(): Promise<JID>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
    on(event: 'stanza' | 'nonza' | 'element', listener: (element: Element) => void): this;
    on(event: 'online', listener: (address: JID) => void): this;
    on(event: 'status', listener: (status: Status) => void): this;
    on(event: 'error', listener: (error: Error & { condition?: string }) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
  }

  export function client(options: ClientOptions): Client;
}
