// The cernvm boot test (recipes/cernvm/boot-test.ts) against a stand-in for QEMU: a guest that powers off
// passes "the guest powers off cleanly" even though QEMU closes the console a moment before it exits.
// (It used to kill QEMU as soon as the console ended, and reported a clean power-off as "QEMU exited with
// a signal" now and then, more often on a busy host.)
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bootTest = resolve(import.meta.dirname, '../../../recipes/cernvm/boot-test.ts');
const tmp = mkdtempSync(join(tmpdir(), 'vmops-boot-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs boot-test.ts with `qemu-system-x86_64` being this shell script; returns its exit and report. */
function bootWith(name: string, qemu: string) {
  const bin = join(tmp, name);
  const program = join(bin, 'qemu-system-x86_64');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(program, `#!/usr/bin/env bash\n${qemu}\n`);
  chmodSync(program, 0o755);
  for (const file of ['disk.qcow2', 'seed.iso']) writeFileSync(join(bin, file), '');
  const report = join(bin, 'boot.tap');
  const run = spawnSync(
    process.execPath,
    [
      bootTest,
      ...['--image', join(bin, 'disk.qcow2'), '--format', 'qcow2', '--seed', join(bin, 'seed.iso')],
      ...['--report', report, '--accel', 'tcg', '--timeout', '60'],
    ],
    { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } },
  );
  return { status: run.status, output: run.stdout + run.stderr, report: readFileSync(report, 'utf8') };
}

/** What a guest that boots, passes its one self-test and powers off prints on its serial console. */
const GUEST = String.raw`printf 'SeaBIOS\r\nLinux version 6.1.0\r\ncernvm login: '
printf '\n1..1\nok 1 - kernel booted\n# vmops-selftest done, powering off\n[  116.6] reboot: Power down\n'`;

describe('the boot test of a guest that powers off', () => {
  it('waits for QEMU to exit after it closed the console, and passes the power-off', () => {
    // QEMU closes the serial console, then takes a moment to flush and close its disks before it exits.
    const run = bootWith('slow-exit', `${GUEST}\nexec >&-\nsleep 1\nexit 0`);
    expect(run.report).toContain('ok 3 - the guest powers off cleanly');
    expect(run.report).not.toContain('not ok');
    expect(run.status, run.output).toBe(0);
  });

  it('fails the power-off when QEMU exits with an error after the guest said it powers down', () => {
    const run = bootWith('bad-exit', `${GUEST}\nexec >&-\nexit 3`);
    expect(run.report).toContain('not ok 3 - the guest powers off cleanly');
    expect(run.report).toContain('QEMU exited with 3');
    expect(run.status).toBe(1);
  });
});
