// Minimal types for the parts of Hubot 14 that the parse-authorize benchmark uses (Hubot ships no
// TypeScript types). Hubot is a devDependency used only as that benchmark's baseline.
declare module 'hubot' {
  export class User {
    constructor(id: string, options?: Record<string, unknown>);
  }
  export class TextMessage {
    constructor(user: User, text: string, id: string);
  }
  export class Robot {
    constructor(adapter: object, httpd: boolean, name: string, alias?: string | false);
    logger: { level: string };
    respond(regex: RegExp, callback: (response: unknown) => void): void;
    receive(message: TextMessage): Promise<unknown>;
    shutdown(): void;
  }
}
