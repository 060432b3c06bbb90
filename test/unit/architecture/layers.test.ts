// The layers of vmops, kept apart through any chain of imports (type-only ones included):
// - the worker process (src/worker/) knows nothing of chat: no adapter, no web console, no pipeline;
// - adapters only translate: they reach the shared edge (types, errors, chat/, render/, the Redis
//   connection), never the core's policy (pipeline, intake, people, approvals, queue, ...);
// - src/ reaches adapters/ only through the wiring (src/app/ and src/main.ts, which may import them).
// Each network's config schema lives beside its adapter but is part of the config (config/schema.ts
// composes it): it is the one file under adapters/ the rest may reach, and it imports only config/.
import { describe, expect, it } from 'vitest';
import { forbiddenChains, importGraph } from '../../helpers/import-graph.ts';

type Graph = ReadonlyMap<string, readonly string[]>;

const FOLDERS = ['src', 'adapters', 'commands', 'config'];

/** An adapter's config schema: config, not adapter code. */
const isConfigSchema = (file: string): boolean => /^adapters\/[^/]+\/config-schema\.ts$/.test(file);
const isAdapterCode = (file: string): boolean => file.startsWith('adapters/') && !isConfigSchema(file);

/** The core's policy and the processes' wiring: what an adapter must never reach. */
const POLICY = [
  'commands/',
  'src/app/',
  'src/approvals/',
  'src/audit/',
  'src/catalog/',
  'src/grammar/command-',
  'src/grammar/parse-command.ts',
  'src/intake/',
  'src/main.ts',
  'src/notifier/',
  'src/oncall/',
  'src/outbox/',
  'src/people/',
  'src/pipeline/',
  'src/queue/',
  'src/schedules/',
  'src/subscriptions/',
  'src/web/',
  'src/worker/',
];

/** Every rule broken in `graph`, as the import chains that break it (`a → b → c`). */
function violations(graph: Graph): string[] {
  const files = [...graph.keys()];
  const rule = (
    name: string,
    from: (f: string) => boolean,
    forbidden: (f: string) => boolean,
    through?: (f: string) => boolean,
  ) =>
    forbiddenChains(graph, files.filter(from), forbidden, through).map(
      (chain) => `${name}: ${chain.join(' → ')}`,
    );
  const isWiring = (f: string): boolean => f.startsWith('src/app/') || f === 'src/main.ts';
  return [
    ...rule(
      'the worker reaches chat',
      (f) => f.startsWith('src/worker/'),
      (f) => isAdapterCode(f) || f.startsWith('src/web/') || f.startsWith('src/pipeline/'),
    ),
    ...rule(
      'an adapter reaches policy',
      (f) => f.startsWith('adapters/'),
      (f) => POLICY.some((p) => f.startsWith(p)),
    ),
    ...rule(
      'the core reaches an adapter',
      (f) => f.startsWith('src/') && !isWiring(f),
      isAdapterCode,
      (f) => !isWiring(f),
    ),
    ...rule('a config schema reaches beyond config', isConfigSchema, (f) => !f.startsWith('config/')),
  ];
}

describe('the layers', () => {
  const graph = importGraph(FOLDERS);

  it('hold in the tree: worker apart from chat, adapters apart from policy, adapters wired only in src/app/', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(violations(graph)).toEqual([]);
  });

  it('the rules see the files they are about (so they cannot pass by seeing nothing)', () => {
    const files = [...graph.keys()];
    expect(files.filter((f) => f.startsWith('src/worker/')).length).toBeGreaterThan(3);
    expect(files.filter(isAdapterCode).length).toBeGreaterThan(10);
    expect(files.filter(isConfigSchema)).toEqual([
      'adapters/matrix/config-schema.ts',
      'adapters/slack/config-schema.ts',
      'adapters/xmpp/config-schema.ts',
    ]);
    // The wiring is where the adapters are imported: the exception is used, not dead.
    expect(graph.get('src/app/network-adapters.ts')?.some(isAdapterCode)).toBe(true);
  });

  it('a forbidden import added anywhere on a chain is found, with the chain that reaches it', () => {
    const withImport = (from: string, to: string): Graph =>
      new Map([...graph].map(([file, imports]) => [file, file === from ? [...imports, to] : imports]));
    // A helper both the worker and the adapters use starts to import the pipeline: both rules break.
    const broken = violations(withImport('src/render/duration.ts', 'src/pipeline/handle-message.ts'));
    expect(broken.some((v) => v.startsWith('the worker reaches chat: src/worker/'))).toBe(true);
    expect(broken).toContainEqual(
      expect.stringMatching(
        /^an adapter reaches policy: adapters\/.* → src\/render\/duration\.ts → src\/pipeline\/handle-message\.ts$/,
      ),
    );
    // The catalog (core, reached by the worker) imports the terminal adapter.
    const catalog = violations(withImport('src/catalog/catalog.ts', 'adapters/shell.ts'));
    expect(catalog).toContain('the core reaches an adapter: src/catalog/catalog.ts → adapters/shell.ts');
    expect(
      catalog.some((v) => v.startsWith('the worker reaches chat:') && v.endsWith('→ adapters/shell.ts')),
    ).toBe(true);
    // A config schema beside its adapter starts to import the adapter itself.
    expect(
      violations(withImport('adapters/xmpp/config-schema.ts', 'adapters/xmpp/adapter.ts')),
    ).toContainEqual(
      expect.stringMatching(
        /^a config schema reaches beyond config: adapters\/xmpp\/config-schema\.ts → adapters\/xmpp\/adapter\.ts/,
      ),
    );
    // The wiring may import adapters (the web console reaches it for the BotCore type: not a breach).
    expect(violations(withImport('src/app/bot-core.ts', 'adapters/shell.ts'))).toEqual([]);
  });
});
