// The words the grammar checks arguments against, taken from config: products, formats and their
// aliases, clouds, people, and the lifecycle events rooms can subscribe to.
import type { Config } from '../../config/schema.ts';

/** Events of an image's life that a room can subscribe to. */
export const LIFECYCLE_EVENTS = [
  'built',
  'passed',
  'failed',
  'published',
  'deployed',
  'revoked',
  'updated',
] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

export interface Vocabulary {
  /** Product used when a command names none. */
  defaultProduct: string;
  /** Every product with the canonical formats it is built for, in config order. */
  products: ReadonlyMap<string, readonly string[]>;
  /** Every canonical format with its aliases, in config order. */
  formats: ReadonlyMap<string, readonly string[]>;
  /** Canonical format for each lower-case format name and alias. */
  formatByWord: ReadonlyMap<string, string>;
  /** Cloud names. */
  clouds: readonly string[];
  /** Person ids. */
  people: readonly string[];
  /** Lifecycle event names. */
  events: readonly string[];
}

export function vocabularyFromConfig(config: Config): Vocabulary {
  const formats = new Map(Object.entries(config.formats).map(([name, spec]) => [name, [...spec.aliases]]));
  const formatByWord = new Map<string, string>();
  for (const [name, aliases] of formats) {
    for (const word of [name, ...aliases]) formatByWord.set(word.toLowerCase(), name);
  }
  return {
    defaultProduct: config.defaultProduct,
    products: new Map(Object.entries(config.products).map(([name, spec]) => [name, [...spec.formats]])),
    formats,
    formatByWord,
    clouds: Object.keys(config.clouds),
    people: Object.keys(config.people),
    events: [...LIFECYCLE_EVENTS],
  };
}
