import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MatrixAdapter } from '../../../adapters/matrix/adapter.ts';
import { SlackAdapter } from '../../../adapters/slack/adapter.ts';
import { XmppAdapter } from '../../../adapters/xmpp/adapter.ts';
import { loadConfig, repoRoot } from '../../../src/app/config-load.ts';
import { networkAdapters } from '../../../src/app/network-adapters.ts';

/** Never connected to: building an adapter does not connect. */
const REDIS = 'redis://127.0.0.1:1';

const log = pino({ level: 'silent' });

describe('network adapters from config', () => {
  it('makes none for the default config', async () => {
    expect(await networkAdapters(loadConfig(), log, REDIS)).toEqual([]);
  });

  it('makes the xmpp adapter from networks.xmpp, with its limits and direct targets', async () => {
    const config = loadConfig(join(repoRoot, 'config', 'examples', 'xmpp.yaml'), {
      VMOPS_XMPP_PASSWORD: 'pw',
    });
    expect(config.networks.xmpp).toMatchObject({
      password: 'pw',
      minEditInterval: 2000,
      selfPingInterval: 120_000,
    });
    const [adapter] = await networkAdapters(config, log, REDIS);
    expect(adapter).toBeInstanceOf(XmppAdapter);
    expect(adapter?.network).toBe('xmpp');
    expect(adapter?.limits).toEqual({ canEdit: true, minEditIntervalMs: 2000, maxMessageLength: 10_000 });
    expect(adapter?.directTarget('Alice@Example.org')).toEqual({
      network: 'xmpp',
      room: 'alice@example.org',
      isDirect: true,
    });
  });

  it('makes the matrix adapter from networks.matrix, without connecting anywhere yet', async () => {
    const config = loadConfig(join(repoRoot, 'config', 'examples', 'matrix.yaml'), {
      VMOPS_MATRIX_TOKEN: 'syt_token',
    });
    const [adapter] = await networkAdapters(config, log, REDIS);
    expect(adapter).toBeInstanceOf(MatrixAdapter);
    expect(adapter?.network).toBe('matrix');
    expect(adapter?.limits.canEdit).toBe(true);
  });

  it('makes the slack adapter from networks.slack, without connecting anywhere yet', async () => {
    const config = loadConfig(join(repoRoot, 'config', 'examples', 'slack.yaml'), {});
    const [adapter] = await networkAdapters(config, log, REDIS);
    expect(adapter).toBeInstanceOf(SlackAdapter);
    expect(adapter?.network).toBe('slack');
    expect(adapter?.limits).toMatchObject({ canEdit: true, threads: true });
  });

  it('turns corrections off into canEdit=false, so the notifier sends a new message per state', async () => {
    const config = loadConfig(join(repoRoot, 'config', 'examples', 'xmpp.yaml'), {});
    if (config.networks.xmpp) config.networks.xmpp.corrections = false;
    expect((await networkAdapters(config, log, REDIS))[0]?.limits.canEdit).toBe(false);
  });
});
