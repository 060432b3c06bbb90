// The serial console reader of the boot test: partial lines (the getty prompt has no newline), TAP
// split across chunks and mixed with kernel messages, panics, boot loaders that give up, hangs.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SerialConsole, watchSerial } from '../../../src/reports/serial-console.ts';

describe('SerialConsole', () => {
  it('sees the login prompt while it is still an unfinished line', () => {
    const console = new SerialConsole();
    console.feed('Debian GNU/Linux 12 cernvm ttyS0\r\n\r\ncernvm lo');
    expect(console.state.login).toBe(false);
    expect(console.feed('gin: ')).toEqual([]);
    expect(console.state.login).toBe(true);
    expect(console.tail(2)).toEqual(['Debian GNU/Linux 12 cernvm ttyS0', '', 'cernvm login:'].slice(-2));
  });

  it('collects the TAP stream from its plan on, across chunks, between kernel messages and escapes', () => {
    const console = new SerialConsole();
    console.feed('[  OK  ] Started \u001b[0;1;39mserial-getty@ttyS0.service\u001b[0m.\r\n# not TAP yet\r\n');
    console.feed('cernvm login: \r\n1..3\r\nok 1 - kernel 6.1.0-1');
    expect(console.tapComplete).toBe(false);
    console.feed(
      '8-cloud-amd64 booted\r\n[   20.1] random: crng init done\r\n# a comment\r\nnot ok 2 - root rw\r\n',
    );
    console.feed('ok 3 - cloud-init finished\r\n');
    expect(console.state).toMatchObject({ planned: 3, points: 3, login: true });
    expect(console.tapComplete).toBe(true);
    expect(console.state.tap).toEqual([
      '1..3',
      'ok 1 - kernel 6.1.0-18-cloud-amd64 booted',
      '# a comment',
      'not ok 2 - root rw',
      'ok 3 - cloud-init finished',
    ]);
    expect(console.tail().join('\n')).toContain('Started serial-getty@ttyS0.service.');
  });

  it('names a kernel panic and a boot loader that finds no kernel', () => {
    const panic = new SerialConsole();
    panic.feed(
      '[    2.1] VFS: Unable to mount root fs\r\n[    2.2] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n',
    );
    expect(panic.state.fatal).toBe(
      '[    2.2] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
    );
    const missing = new SerialConsole();
    missing.feed(
      'SYSLINUX 6.04 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al\r\nLoading /vmlinuz... failed: No such file or directory\r\n',
    );
    expect(missing.state.fatal).toBe('Loading /vmlinuz... failed: No such file or directory');
    const loader = new SerialConsole();
    loader.feed(
      'SYSLINUX 6.04 EDD 20191223 Copyright (C) 1994-2015 H. Peter Anvin et al\r\nCould not find kernel image: /vmlinuz\r\nboot: ',
    );
    expect(loader.state.fatal).toBe('Could not find kernel image: /vmlinuz');
    expect(loader.tail(1)).toEqual(['boot:']);
  });

  it('keeps only the last lines', () => {
    const console = new SerialConsole(3);
    console.feed('1\n2\n3\n4\n5\nsix');
    expect(console.tail()).toEqual(['4', '5', 'six']);
  });
});

describe('watchSerial', () => {
  it('ends at the deadline when the console goes quiet (a hang), with what it printed', async () => {
    const stream = new PassThrough();
    stream.write('SeaBIOS (version 1.16.2-debian-1.16.2-1)\r\nBooting from Hard Disk...\r\n');
    const { end, console } = await watchSerial(stream, { timeoutMs: 200 });
    expect(end).toBe('timeout');
    expect(console.tail()).toEqual(['SeaBIOS (version 1.16.2-debian-1.16.2-1)', 'Booting from Hard Disk...']);
  });

  it('ends at once on a panic, without waiting for the deadline', async () => {
    const stream = new PassThrough();
    const watching = watchSerial(stream, { timeoutMs: 60_000 });
    stream.write(
      '[    1.0] Run /init as init process\r\n[    1.5] Kernel panic - not syncing: Attempted to kill init!',
    );
    stream.write(' exitcode=0x00000100\r\n');
    const { end, console, durationMs } = await watching;
    expect(end).toBe('fatal');
    expect(console.state.fatal).toMatch(/^\[ {4}1\.5\] Kernel panic - not syncing: Attempted to kill init!/);
    expect(durationMs).toBeLessThan(10_000);
  });

  it('waits for the power-off after a complete TAP stream, and reports the end of the stream', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const watching = watchSerial(stream, { timeoutMs: 60_000, onLine: (l) => lines.push(l) });
    stream.write('cernvm login: \r\n1..1\r\nok 1 - kernel booted\r\n');
    stream.end('[   30.0] reboot: Power down\r\n');
    const { end, console } = await watching;
    expect(end).toBe('exited');
    expect(console.state).toMatchObject({ login: true, poweredOff: true, planned: 1, points: 1 });
    expect(lines).toEqual(['cernvm login:', '1..1', 'ok 1 - kernel booted', '[   30.0] reboot: Power down']);
  });

  it('stops at the login prompt when asked to', async () => {
    const stream = new PassThrough();
    const watching = watchSerial(stream, { timeoutMs: 60_000, stopAtLogin: true });
    stream.write('Debian GNU/Linux 12 cernvm ttyS0\r\n\r\ncernvm login: ');
    const { end, durationMs } = await watching;
    expect(end).toBe('login');
    expect(durationMs).toBeLessThan(10_000);
  });

  it('says tap-complete when the guest does not power off after its tests', async () => {
    const stream = new PassThrough();
    const watching = watchSerial(stream, { timeoutMs: 60_000, powerOffMs: 100 });
    stream.write('1..1\nok 1 - kernel booted\n');
    expect((await watching).end).toBe('tap-complete');
  });
});
