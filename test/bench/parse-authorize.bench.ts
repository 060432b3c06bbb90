// Benchmark: the in-memory half of taking a command in (read the command word, identify the account,
// authorize, bind the arguments against config) against Hubot 14's in-memory dispatch
// (`robot.receive` → receive middleware → regex listeners), with a listener for each of vmops's
// commands so both sides know a grammar of the same size. No Redis, no network: both sides only
// decide what a message means and whether it may run. Prints the ratio last.
//   npm run bench   (or: node test/bench/parse-authorize.bench.ts [count])
import { Robot, TextMessage, User } from 'hubot';
import { allCommands } from '../../commands/index.ts';
import { defaultConfigPath, loadConfig } from '../../src/app/config-load.ts';
import { CommandRegistry } from '../../src/grammar/command-registry.ts';
import { bindCommand, readCommand } from '../../src/grammar/parse-command.ts';
import { vocabularyFromConfig } from '../../src/grammar/vocabulary.ts';
import { authorize } from '../../src/people/authorize.ts';
import { identitiesFromConfig } from '../../src/people/identify.ts';

const count = Number(process.argv[2] ?? 200_000);
const config = loadConfig(defaultConfigPath);
const registry = new CommandRegistry(allCommands);
const vocabulary = vocabularyFromConfig(config);
const identities = identitiesFromConfig(config.people);
const maxLength = config.bot.maxCommandLength;

/** What people type most: stage commands with arguments, job views, and help. */
const texts = [
  'build cernvm 2.6 kvm vmware',
  'test 2.6 kvm',
  'publish 2.6 kvm',
  'status',
  'jobs',
  'images cernvm',
  'help build',
  'deploy 2.6 local',
];
const sender = { id: 'alice', displayName: 'Alice', isBot: false, isSelf: false };

function vmops(): number {
  let bound = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const text = texts[i % texts.length] as string;
    const head = readCommand(text, registry, maxLength);
    if (!head.ok) throw new Error(`${text}: ${head.error.message}`);
    const principal = identities('shell', sender);
    authorize(principal, head.value.spec, config.policy);
    const parsed = bindCommand(head.value, vocabulary, registry);
    if (!parsed.ok) throw new Error(`${text}: ${parsed.error.message}`);
    bound += 1;
  }
  const seconds = (performance.now() - start) / 1000;
  if (bound !== count) throw new Error(`bound ${bound} of ${count}`);
  return count / seconds;
}

async function hubot(): Promise<number> {
  const adapter = {
    name: 'bench',
    send: async () => undefined,
    reply: async () => undefined,
    close: () => undefined,
  };
  const robot = new Robot(adapter, false, 'vmops');
  robot.logger.level = 'silent';
  let matched = 0;
  // One listener per vmops command word, in registration order, each taking its arguments, as a Hubot
  // script would write them.
  for (const spec of registry.all()) {
    const words = [spec.name, ...(spec.aliases ?? [])].join('|');
    robot.respond(new RegExp(`(?:${words})(?:\\s+(.*))?$`, 'i'), () => {
      matched += 1;
    });
  }
  const user = new User('alice', { name: 'Alice', room: 'r' });
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await robot.receive(new TextMessage(user, `vmops ${texts[i % texts.length]}`, `m${i}`));
  }
  const seconds = (performance.now() - start) / 1000;
  if (matched !== count) throw new Error(`hubot matched ${matched} of ${count}`);
  robot.shutdown();
  return count / seconds;
}

// Warm both up, then measure.
vmops();
await hubot();
const ours = vmops();
const theirs = await hubot();
console.log(
  `parse + identify + authorize + bind: ${count} commands, ${registry.all().length} commands in the grammar`,
);
console.log(`  Hubot 14 robot.receive:  ${theirs.toFixed(0)} /s`);
console.log(`  vmops:                   ${ours.toFixed(0)} /s`);
console.log(`parse-authorize ratio (vmops / Hubot 14): ${(ours / theirs).toFixed(2)}`);
