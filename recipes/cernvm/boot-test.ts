// cernvm boot test: boots one image headless under QEMU the way a hypervisor would (SeaBIOS from the
// disk itself, no kernel on the command line, the image attached in its own format) with a NoCloud
// seed that asks the guest for its self-test, reads the serial console and writes a TAP report: the
// boot to a login prompt, the guest's own checks (TAP over the serial console), and a clean power-off.
// A boot that hangs, panics or stops in the boot loader fails with the console's last lines.
//
// node recipes/cernvm/boot-test.ts --image FILE --format qcow2|vmdk|vdi|vhdx|raw --seed ISO
//   --report OUT.tap [--console OUT.log] [--bus virtio|pvscsi|ide] [--timeout SECONDS] [--accel auto|tcg|kvm]
//   [--probe-cache DIR]
// Exit status: 0 when every check passed, 1 when one failed (the report says which), 2 on bad usage.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseTap } from '../../src/reports/parse-tap.ts';
import { type WatchResult, watchSerial } from '../../src/reports/serial-console.ts';

const { values } = parseArgs({
  options: {
    image: { type: 'string' },
    format: { type: 'string' },
    seed: { type: 'string' },
    report: { type: 'string' },
    console: { type: 'string' },
    bus: { type: 'string', default: 'virtio' },
    timeout: { type: 'string', default: '420' },
    accel: { type: 'string', default: 'auto' },
    'probe-cache': { type: 'string' },
    memory: { type: 'string', default: '768' },
  },
});
const usage = (why: string): never => {
  process.stderr.write(`boot-test: ${why}\n`);
  process.exit(2);
};
const image = values.image ?? usage('--image is required');
const format = values.format ?? usage('--format is required');
const seed = values.seed ?? usage('--seed is required');
const reportPath = values.report ?? usage('--report is required');
if (!['qcow2', 'vmdk', 'vdi', 'vhdx', 'raw'].includes(format)) usage(`unknown --format ${format}`);
const BUSES = ['virtio', 'pvscsi', 'ide'] as const;
type Bus = (typeof BUSES)[number];
if (!(BUSES as readonly string[]).includes(values.bus)) usage(`unknown --bus ${values.bus}`);
const timeoutMs = Number(values.timeout) * 1000;
if (!(timeoutMs > 0)) usage(`--timeout ${values.timeout} is not a number of seconds`);

/** The QEMU arguments of a boot with this accelerator. */
function qemuArgs(accel: 'tcg' | 'kvm'): string[] {
  const drive = `file=${image},if=none,id=d0,format=${format},snapshot=on`;
  const disk = {
    virtio: ['-drive', `file=${image},if=virtio,format=${format},snapshot=on`],
    pvscsi: [
      '-device',
      'pvscsi,id=scsi0',
      '-drive',
      drive,
      '-device',
      'scsi-hd,drive=d0,bus=scsi0.0,bootindex=0',
    ],
    ide: ['-drive', drive, '-device', 'ide-hd,drive=d0,bus=ide.0,bootindex=0'],
  }[values.bus as Bus];
  // The IDE disk hangs off the PIIX controller of QEMU's i440fx machine; the others use q35. SeaBIOS
  // boots a disk on pvscsi only when it is given a boot index.
  const machine = values.bus === 'ide' ? 'pc' : 'q35';
  return [
    ...['-machine', `${machine},accel=${accel}`, '-cpu', accel === 'kvm' ? 'host' : 'max', '-smp', '1'],
    ...['-m', values.memory, '-nodefaults', '-no-reboot', '-display', 'none', '-monitor', 'none'],
    ...['-serial', 'stdio', '-netdev', 'user,id=n0,restrict=on', '-device', 'virtio-net-pci,netdev=n0'],
    ...disk,
    ...['-drive', `file=${seed},if=virtio,format=raw,readonly=on`],
  ];
}

/** How long QEMU may take to exit after its console ended (it flushes and closes its disks). */
const EXIT_GRACE_MS = 30_000;
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Boots once; the console goes to `log` as it comes. QEMU is killed when the watch ends. */
async function boot(accel: 'tcg' | 'kvm', limitMs: number, log?: (line: string) => void) {
  const qemu = spawn('qemu-system-x86_64', qemuArgs(accel), { stdio: ['ignore', 'pipe', 'pipe'] });
  // A cancelled or timed-out step must not leave its VM running.
  const stop = () => {
    qemu.kill('SIGKILL');
    process.exit(1);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  let stderr = '';
  qemu.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<number | null>((resolve) => {
    qemu.once('exit', (code) => resolve(code));
    qemu.once('error', (error) => {
      stderr += String(error);
      resolve(null);
    });
  });
  const result = await watchSerial(qemu.stdout, {
    timeoutMs: limitMs,
    // systemd's shutdown after the self-test takes 30 s under TCG, minutes on a busy host
    powerOffMs: 240_000,
    ...(log ? { onLine: log } : {}),
  });
  // The console ends when QEMU closes it on its way out, before the process has exited: killing it
  // then turned a clean power-off ("reboot: Power down", exit 0) into "exited with a signal" now and
  // then, more often on a busy host. So when the console ended, QEMU gets time to finish exiting.
  if (result.end === 'exited') await Promise.race([exited, delay(EXIT_GRACE_MS)]);
  if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
  const code = await exited;
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  return { result, code, stderr: stderr.trim() };
}

/**
 * The accelerator to use. KVM only when a guest really boots under it: here /dev/kvm opens and
 * KVM_CREATE_VM works, yet guests die with emulation failures. The verdict is kept per host boot.
 */
async function chooseAccel(): Promise<'tcg' | 'kvm'> {
  if (values.accel === 'tcg' || values.accel === 'kvm') return values.accel;
  if (!existsSync('/dev/kvm')) return 'tcg';
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const cache = values['probe-cache'] ? join(values['probe-cache'], `kvm-probe-${bootId}`) : undefined;
  if (cache && existsSync(cache)) return readFileSync(cache, 'utf8').trim() === 'kvm' ? 'kvm' : 'tcg';
  // A guest that reaches its kernel within 30 s under KVM has a working KVM (TCG takes a few seconds).
  const probe = await boot('kvm', 30_000);
  const works = probe.result.console.tail(200).some((line) => /Linux version|login:/.test(line));
  const verdict = works && !/emulation failure|internal error/i.test(probe.stderr) ? 'kvm' : 'tcg';
  process.stdout.write(
    `KVM probe by booting: ${verdict === 'kvm' ? 'KVM works' : 'KVM unusable, using TCG'}\n`,
  );
  if (cache) {
    mkdirSync(values['probe-cache'] ?? '.', { recursive: true });
    writeFileSync(cache, `${verdict}\n`);
  }
  return verdict;
}

interface Point {
  ok: boolean;
  name: string;
  message?: string;
}

function describeEnd(result: WatchResult, code: number | null, stderr: string): string {
  const seconds = Math.round(result.durationMs / 1000);
  switch (result.end) {
    case 'timeout':
      return `no result within ${Math.round(timeoutMs / 1000)} s (the boot hangs)`;
    case 'fatal':
      return `the boot failed after ${seconds} s: ${result.console.state.fatal}`;
    case 'login':
      return `a login prompt after ${seconds} s`;
    case 'tap-complete':
      return `the self-test ended after ${seconds} s but the guest did not power off`;
    case 'exited':
      return `QEMU exited with ${code ?? 'a signal'} after ${seconds} s${stderr ? `: ${stderr.split('\n').slice(-3).join(' ')}` : ''}`;
  }
}

function tapReport(points: Point[], comment: string): string {
  const lines = ['TAP version 13', `1..${points.length}`];
  points.forEach((p, i) => {
    lines.push(`${p.ok ? 'ok' : 'not ok'} ${i + 1} - ${p.name.replace(/#/g, '')}`);
    if (!p.ok && p.message) {
      lines.push('  ---', '  message: |');
      for (const line of p.message.split('\n')) lines.push(`    ${line}`);
      lines.push('  ...');
    }
  });
  lines.push(`# ${comment}`);
  return `${lines.join('\n')}\n`;
}

const consoleLog = values.console ? createWriteStream(values.console) : undefined;
const accel = await chooseAccel();
process.stdout.write(
  `::status booting ${image.split('/').at(-1)} (${format}, ${values.bus}) under QEMU ${accel}\n`,
);
const { result, code, stderr } = await boot(accel, timeoutMs, (line) => consoleLog?.write(`${line}\n`));
consoleLog?.end();
const state = result.console.state;
const tail = result.console.tail(25).join('\n');
const ended = describeEnd(result, code, stderr);
const points: Point[] = [];
points.push({
  ok: state.login || state.planned !== undefined,
  name: `boots from its own disk (SeaBIOS, syslinux) under QEMU ${accel} to a login prompt`,
  message: `${ended}; the serial console's last lines:\n${tail}`,
});
if (state.planned === undefined) {
  points.push({
    ok: false,
    name: 'the in-guest self-test reports TAP on the serial console',
    message: `no TAP plan: ${ended}; the serial console's last lines:\n${tail}`,
  });
} else {
  const guest = parseTap(state.tap.join('\n'));
  for (const c of guest.cases) {
    const point: Point = { ok: c.status !== 'failed', name: `in the guest: ${c.name}` };
    if (c.message) point.message = c.message;
    points.push(point);
  }
  if (guest.problems.length > 0 || state.points < state.planned) {
    points.push({
      ok: false,
      name: `the in-guest self-test ran all ${state.planned} planned checks`,
      message: `${state.points} ran: ${ended}; ${guest.problems.join('; ')}\nthe serial console's last lines:\n${tail}`,
    });
  }
}
points.push({
  ok: result.end === 'exited' && code === 0 && state.poweredOff,
  name: 'the guest powers off cleanly',
  message: `${ended}; the serial console's last lines:\n${tail}`,
});
const failed = points.filter((p) => !p.ok).length;
writeFileSync(
  reportPath,
  tapReport(points, `boot ${accel} ${format} ${Math.round(result.durationMs / 1000)} s: ${ended}`),
);
process.stdout.write(`::report ${reportPath}\n`);
process.stdout.write(
  `boot test of ${image}: ${points.length - failed} of ${points.length} passed in ${Math.round(result.durationMs / 1000)} s (${ended})\n`,
);
if (failed > 0) process.stdout.write(`serial console, last lines:\n${tail}\n`);
process.exit(failed > 0 ? 1 : 0);
