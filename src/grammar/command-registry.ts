// The set of chat commands: looks a command up by name or alias (any case) and refuses, at start-up,
// two commands answering to the same word.

import { VmopsError } from '../errors.ts';
import type { CommandSpec } from './command-spec.ts';

const COMMAND_WORD = /^[a-z][a-z0-9-]*$/;

export class CommandRegistry {
  readonly #specs: readonly CommandSpec[];
  readonly #byWord = new Map<string, CommandSpec>();

  constructor(specs: readonly CommandSpec[]) {
    this.#specs = [...specs];
    for (const spec of specs) {
      for (const word of [spec.name, ...(spec.aliases ?? [])]) {
        if (!COMMAND_WORD.test(word)) {
          throw new VmopsError(
            'internal_error',
            `command ${spec.name}: '${word}' is not a command word (lower-case letters, digits and -)`,
          );
        }
        const other = this.#byWord.get(word);
        if (other !== undefined) {
          const where = other === spec ? `twice in ${spec.name}` : `by both ${other.name} and ${spec.name}`;
          throw new VmopsError('internal_error', `command word '${word}' is used ${where}`);
        }
        this.#byWord.set(word, spec);
      }
    }
  }

  /** The command named or aliased by a word, in any case. */
  lookup(word: string): CommandSpec | undefined {
    return this.#byWord.get(word.toLowerCase());
  }

  /** Every command, in registration order. */
  all(): readonly CommandSpec[] {
    return this.#specs;
  }

  /** Every name and alias, for did-you-mean. */
  names(): string[] {
    return [...this.#byWord.keys()];
  }
}
