// The cernvm recipe's boot slots: a host boots at most VMOPS_BOOT_SLOTS guests at once (one under TCG
// by default), across jobs and workers; a boot that finds every slot taken waits, says so in its status,
// and goes once a slot is free. (TCG guests that shared two cores starved each other past their timeouts.)
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { until } from '../../helpers/until.ts';

const recipe = resolve(import.meta.dirname, '../../../recipes/cernvm');
const tmp = mkdtempSync(join(tmpdir(), 'vmops-boot-slots-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A "boot": takes a slot, says `took`, holds the slot until its stdin closes. Output is collected. */
function boot(env: Record<string, string>) {
  const child = spawn(
    'bash',
    [
      '-c',
      'source "$1/lib.sh"; source "$1/appliance.sh"; take_boot_slot; echo took; cat >/dev/null',
      'boot',
      recipe,
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } },
  );
  children.push(child);
  const out = { text: '' };
  child.stdout.on('data', (chunk) => {
    out.text += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    out.text += String(chunk);
  });
  return { child, out, release: () => child.stdin.end() };
}

/** A cache directory of its own (the slots live beside it), so tests do not share slots. */
function host(name: string): string {
  const cache = join(tmp, name, 'rootfs');
  mkdirSync(cache, { recursive: true });
  return cache;
}

describe('boot slots', () => {
  it('queues a second boot on a one-slot host until the first ends, and says it waits', async () => {
    const env = { VMOPS_ROOTFS_CACHE: host('one'), VMOPS_BOOT_SLOTS: '1' };
    const first = boot(env);
    await until(() => first.out.text.includes('took'), { what: 'the first boot to take the slot' });
    const second = boot(env);
    await until(() => second.out.text.includes('waiting'), {
      what: () => `the second to wait: ${second.out.text}`,
    });
    expect(second.out.text).toContain(
      '::status waiting to boot: this host boots 1 guest(s) at once and they are all running',
    );
    expect(second.out.text).not.toContain('took');
    first.release();
    await until(() => second.out.text.includes('took'), { what: 'the second boot to take the freed slot' });
  });

  it('lets as many boots run at once as the host has slots', async () => {
    const env = { VMOPS_ROOTFS_CACHE: host('two'), VMOPS_BOOT_SLOTS: '2' };
    const [a, b] = [boot(env), boot(env)];
    await until(() => a.out.text.includes('took') && b.out.text.includes('took'), {
      what: () => `both boots to run: ${a.out.text} | ${b.out.text}`,
    });
    const c = boot(env);
    await until(() => c.out.text.includes('waiting'), { what: () => `the third to wait: ${c.out.text}` });
    b.release();
    await until(() => c.out.text.includes('took'), { what: 'the third boot to take the freed slot' });
  });

  it('frees the slot of a boot that is killed', async () => {
    const env = { VMOPS_ROOTFS_CACHE: host('killed'), VMOPS_BOOT_SLOTS: '1' };
    const first = boot(env);
    await until(() => first.out.text.includes('took'), { what: 'the first boot to take the slot' });
    const second = boot(env);
    await until(() => second.out.text.includes('waiting'), { what: 'the second to wait' });
    first.child.kill('SIGKILL');
    await until(() => second.out.text.includes('took'), { what: 'the second boot to take the slot' });
  });

  it('boots one guest at a time without KVM unless the config says otherwise', () => {
    const slots = (env: Record<string, string>) =>
      spawnSync('bash', ['-c', 'source "$1/lib.sh"; source "$1/appliance.sh"; boot_slots', 'slots', recipe], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VMOPS_ROOTFS_CACHE: host('default'), ...env },
      });
    expect(slots({ VMOPS_ACCEL: 'tcg' }).stdout).toBe('1\n');
    expect(slots({}).stdout).toBe('1\n'); // no KVM probe has found a working KVM
    expect(slots({ VMOPS_ACCEL: 'tcg', VMOPS_BOOT_SLOTS: '4' }).stdout).toBe('4\n');
    const bad = slots({ VMOPS_BOOT_SLOTS: '1; reboot' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("refusing VMOPS_BOOT_SLOTS '1; reboot'");
  });
});
