// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${ENV} references are the config syntax under test
// A worker started with the team's config file must not need the bot's chat secrets: it reads only the
// sections it uses (src/app/config-load.ts WORKER_SCOPE); the bot still refuses the same file without them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultConfigPath, parseConfig, WORKER_SCOPE } from '../../../src/app/config-load.ts';

// The default config ends with its `networks:` section: the team's networks go on under it.
const team = `${readFileSync(defaultConfigPath, 'utf8').trimEnd()}
  slack:
    token: \${VMOPS_SLACK_BOT_TOKEN}
    appToken: \${VMOPS_SLACK_APP_TOKEN}
  matrix:
    homeserver: https://matrix.example.org
    userId: "@vmops:example.org"
    accessToken: \${VMOPS_MATRIX_TOKEN}
  xmpp:
    jid: vmops@example.org
    password: \${VMOPS_XMPP_PASSWORD}
`;

describe('a worker with the team config', () => {
  it('starts without the chat secrets in its environment, with no networks', () => {
    const config = parseConfig(team, 'team.yaml', {}, WORKER_SCOPE);
    expect(config.networks).toEqual({});
    expect(config.products.cernvm?.stages.build?.steps).toHaveLength(1);
  });

  it('while the bot, which uses the networks, is refused the same file without them', () => {
    expect(() => parseConfig(team, 'team.yaml', {})).toThrow(/VMOPS_SLACK_BOT_TOKEN is not set/);
    const bot = parseConfig(team, 'team.yaml', {
      VMOPS_SLACK_BOT_TOKEN: 'xoxb-1',
      VMOPS_SLACK_APP_TOKEN: 'xapp-1',
      VMOPS_MATRIX_TOKEN: 'syt_1',
      VMOPS_XMPP_PASSWORD: 'pw',
    });
    expect(bot.networks.slack?.token).toBe('xoxb-1');
  });
});
