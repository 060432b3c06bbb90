// Benchmark, counted (not timed): the Redis commands and round trips one `build` of one format costs the
// bot, against a raw BullMQ `add` (1 EVALSHA, 1 round trip), on a private redis-server started here.
//
// What is counted: every command the bot process writes to Redis on any of its connections, from the
// moment the intake has taken the message in (the take's own script, run before the network is
// acknowledged, is shown apart) until the command is handled, its intake entry acknowledged, its job
// queued, its audit entry appended and its status message reserved. MULTI and EXEC count as commands.
// A round trip is a batch of commands sent before a reply to any of them came back (a pipeline, a
// MULTI block, or commands sent side by side): a command sent after a reply arrived opens the next
// one, so commands that overlap in time may count as more round trips, never fewer. Commands run
// inside scripts are counted apart, from MONITOR. What the outbox sends to deliver the reply and the
// status message (the shared pacing of the room, the message reference written once it is posted)
// is the cost of any chat message, not of the command, and is listed apart.
//   npm run bench   (or: node test/bench/redis-commands.bench.ts [builds])
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { connectRedis } from '../../src/redis/connect.ts';
import type { IncomingMessage } from '../../src/types.ts';
import { benchCore, fromAlice, privateRedis, silentChat, versionFor } from './bench-kit.ts';

const builds = Math.max(1, Math.min(Number(process.argv[2] ?? 20), 200));
const server = await privateRedis();

/**
 * What a command was for: taking the message in (before the network's ack), the command's hot path,
 * the notifier's standing read of queue events and what an event makes it look up, or the delivery of
 * a chat message through the outbox (and the reference written once it is posted).
 */
type Part = 'take' | 'hot' | 'listener' | 'delivery';

/** One command the process wrote: its name, where in vmops it was sent from, its round trip. */
interface Sent {
  name: string;
  from: string;
  part: Part;
  trip: number;
}

Error.stackTraceLimit = 60;

/** Counts what every ioredis connection in this process writes, while `recording`. */
const counter = {
  recording: false,
  sent: [] as Sent[],
  trips: 0,
  answeredSinceTrip: true,
  ignore: new WeakSet<object>(),
};
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, ...args: Parameters<Redis['sendCommand']>) {
  const [command] = args;
  const promise = sendCommand.apply(this, args);
  if (!counter.recording || counter.ignore.has(this)) return promise;
  if (counter.answeredSinceTrip) {
    counter.trips += 1;
    counter.answeredSinceTrip = false;
  }
  const stack = new Error().stack ?? '';
  counter.sent.push({
    name: command.name.toUpperCase(),
    from: origin(stack),
    part: partOf(stack),
    trip: counter.trips,
  });
  const answered = () => {
    counter.answeredSinceTrip = true;
  };
  command.promise.then(answered, answered);
  return promise;
};

function partOf(stack: string): Part {
  if (/Intake\.take/.test(stack)) return 'take';
  // The outbox's sends, and the reference written once the status message is posted.
  if (/src\/outbox\/|\brecordPosted\b/.test(stack)) return 'delivery';
  if (/queue-events/.test(stack)) return 'listener';
  return 'hot';
}

/** What runs scripts for others: the module that asked is the one named. */
const RUNNERS = new Set(['src/redis/lua-script.ts', 'src/redis/script-batch.ts']);

/** The first vmops source file on a stack (`src/queue/job-control.ts`; the script runners are not ones), or `bullmq` / `ioredis`. */
function origin(stack: string): string {
  for (const line of stack.split('\n').slice(2)) {
    const file = /\/((?:src|test)\/[\w/.-]+\.ts)/.exec(line)?.[1];
    if (file && !file.includes('bench') && !RUNNERS.has(file)) return file;
  }
  return /node_modules\/bullmq/.test(stack) ? 'bullmq' : 'ioredis';
}

/** Commands run inside scripts (MONITOR's `lua` source), between `start` and `stop`. */
async function scriptCommands() {
  const base = connectRedis(server.url);
  counter.ignore.add(base);
  const monitor = await base.monitor();
  counter.ignore.add(monitor);
  let counting = false;
  let inside = 0;
  let marker: (() => void) | undefined;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (args[0]?.toLowerCase() === 'echo' && args[1] === 'bench-marker') marker?.();
    else if (counting && source === 'lua') inside += 1;
  });
  const probe = connectRedis(server.url);
  counter.ignore.add(probe);
  /** Waits until MONITOR has shown everything sent before now. */
  const caughtUp = () =>
    new Promise<void>((resolve) => {
      marker = resolve;
      void probe.echo('bench-marker');
    });
  return {
    async start() {
      await caughtUp();
      inside = 0;
      counting = true;
    },
    async stop() {
      await caughtUp();
      counting = false;
      return inside;
    },
    close() {
      monitor.disconnect();
      base.disconnect();
      probe.disconnect();
    },
  };
}

interface Count {
  sent: Sent[];
  inScripts: number;
}

function summarise(sent: Sent[]): { commands: number; trips: number } {
  return { commands: sent.length, trips: new Set(sent.map((s) => s.trip)).size };
}

async function vmopsBuilds(): Promise<{ take: Sent[]; counts: Count[] }> {
  const handled = new Map<string, (jobId: string) => void>();
  const { core } = await benchCore(server, [silentChat], {
    // Timers (the intake's heartbeat, the approvals' sweep) stay out of the window.
    intake: { heartbeatMs: 600_000 },
    approvalSweepMs: 600_000,
    onHandled: (message, outcome) => handled.get(message.eventId)?.(outcome.jobs[0] ?? ''),
  });
  const monitor = await scriptCommands();
  let take: Sent[] = [];
  const counts: Count[] = [];
  // A few first, so scripts are loaded and lazy keys made before anything is counted.
  for (let i = -5; i < builds; i++) {
    const message: IncomingMessage = fromAlice(`build cernvm ${versionFor(i + 5)} kvm`, {
      eventId: `count-${i}`,
      room: 'r',
    });
    const done = new Promise<string>((resolve) => handled.set(message.eventId, resolve));
    const measured = i >= 0;
    if (measured) await monitor.start();
    counter.sent = [];
    counter.recording = measured;
    await core.take(message);
    const jobId = await done;
    // Handled; the intake acknowledges the entry right after: wait for that, then for the post.
    while (core.intake.pending > 0) await new Promise((resolve) => setImmediate(resolve));
    const sent = counter.sent;
    counter.sent = [];
    await core.notifier.posted(jobId);
    counter.recording = false;
    // Whatever comes once the command is handled and the status message is on its way belongs to the delivery.
    const delivery = counter.sent.map((s): Sent => (s.part === 'hot' ? { ...s, part: 'delivery' } : s));
    if (measured) counts.push({ sent: [...sent, ...delivery], inScripts: await monitor.stop() });
    if (measured) take = sent.filter((s) => s.part === 'take');
  }
  monitor.close();
  await core.close();
  return { take, counts };
}

async function rawAdds(): Promise<Count[]> {
  const connection = connectRedis(server.url);
  const queue = new Queue('build', { connection, prefix: 'raw' });
  await queue.waitUntilReady();
  const monitor = await scriptCommands();
  const counts: Count[] = [];
  for (let i = -5; i < builds; i++) {
    const measured = i >= 0;
    if (measured) await monitor.start();
    counter.sent = [];
    counter.recording = measured;
    await queue.add(
      'build',
      { product: 'cernvm', version: versionFor(i + 5), format: 'kvm' },
      { jobId: `raw-${i}` },
    );
    counter.recording = false;
    if (measured) counts.push({ sent: counter.sent, inScripts: await monitor.stop() });
  }
  monitor.close();
  await queue.close();
  connection.disconnect();
  return counts;
}

/**
 * The count most builds had (the intake's idle polls and other timers may fall into a slow build's
 * window now and then), and the spread over all of them.
 */
function typical(counts: Count[], pick: (c: Count) => Sent[]): { shown: Count; spread: string } {
  const totals = counts.map((c) => summarise(pick(c)).commands);
  const often = new Map<number, number>();
  for (const total of totals) often.set(total, (often.get(total) ?? 0) + 1);
  const mode = [...often].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 0;
  const shown = counts[totals.indexOf(mode)] as Count;
  const min = Math.min(...totals);
  const max = Math.max(...totals);
  return {
    shown,
    spread:
      min === max
        ? `all ${counts.length} alike`
        : `${often.get(mode)} of ${counts.length} like this one, ${min}–${max} over all`,
  };
}

function list(sent: Sent[]): string {
  const byTrip = new Map<number, Sent[]>();
  for (const s of sent) byTrip.set(s.trip, [...(byTrip.get(s.trip) ?? []), s]);
  return [...byTrip.values()]
    .map((trip, n) => `    trip ${n + 1}: ${trip.map((s) => `${s.name} (${s.from})`).join(', ')}`)
    .join('\n');
}

try {
  const raw = await rawAdds();
  const { take, counts } = await vmopsBuilds();
  const part = (p: Part) => (c: Count) => c.sent.filter((s) => s.part === p);
  const hot = part('hot');
  const { shown, spread } = typical(counts, hot);
  const ours = summarise(hot(shown));
  const rawShown = typical(raw, (c) => c.sent).shown;
  const theirs = summarise(rawShown.sent);
  console.log(
    `redis commands: one \`build cernvm <version> kvm\` through the intake, ${builds} counted (${spread})`,
  );
  console.log(`  taken in (before the network's ack): ${take.map((s) => s.name).join(', ')}`);
  console.log(
    `  vmops hot path:   ${ours.commands} commands sent in ${ours.trips} round trips (${shown.inScripts} commands ran inside scripts, all parts)`,
  );
  console.log(list(hot(shown)));
  for (const [p, what] of [
    ['listener', "queue events (the notifier's standing read, and what an event makes it look up)"],
    ['delivery', 'delivery of the reply and status message (outbox, reference once posted)'],
  ] as const) {
    const sent = part(p)(shown);
    console.log(`  ${what}: ${sent.length} commands`);
    if (sent.length > 0) console.log(list(sent));
  }
  console.log(
    `  raw BullMQ add:   ${theirs.commands} command(s) sent in ${theirs.trips} round trip(s), ${rawShown.inScripts} run inside the script`,
  );
  console.log(
    `  must hold: at most 8 commands and 3 round trips: ${ours.commands <= 8 && ours.trips <= 3 ? 'yes' : 'NO'}`,
  );
  console.log(
    `redis commands ratio (vmops hot path / raw BullMQ add, commands sent): ${(ours.commands / theirs.commands).toFixed(2)}; round trips: ${(ours.trips / theirs.trips).toFixed(2)}`,
  );
} finally {
  await server.stop();
}
