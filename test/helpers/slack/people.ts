// What people do in the local Slack, as the payloads Slack sends for it: a slash command and a click on
// a button of a message the bot sent (the response_url for the answer comes from web-api.ts).
import type { SlackState } from './state.ts';
import type { Block, FakeMessage } from './types.ts';

/** The payload of `/vmops <text>` typed by `user` in `channel`. */
export function slashPayload(
  state: SlackState,
  user: string,
  channel: string,
  text: string,
  command: string,
  responseUrl: string,
): Record<string, unknown> {
  return {
    token: 'verification-token-unused',
    team_id: state.teamId,
    team_domain: 'fake',
    channel_id: channel,
    channel_name: channel.startsWith('D') ? 'directmessage' : 'ops',
    user_id: user,
    user_name: `name-of-${user}`,
    command,
    text,
    api_app_id: 'A0VMOPS',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: `${Date.now()}.${state.nextId()}.fake`,
  };
}

/** The payload of a click by `user` on the button labelled `label` of `message`. */
export function clickPayload(
  state: SlackState,
  user: string,
  message: FakeMessage,
  label: string,
  responseUrl: string,
): Record<string, unknown> {
  const blocks = message.versions.at(-1)?.blocks ?? [];
  const button = blocks
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements as Block[]) ?? [])
    .find((e) => (e.text as { text?: string } | undefined)?.text === label);
  if (!button) throw new Error(`no button ${label} on message ${message.ts}`);
  const now = Date.now() / 1000;
  return {
    type: 'block_actions',
    user: { id: user, username: `name-of-${user}`, name: `name-of-${user}`, team_id: state.teamId },
    api_app_id: 'A0VMOPS',
    token: 'verification-token-unused',
    container: {
      type: 'message',
      message_ts: message.ts,
      channel_id: message.channel,
      is_ephemeral: false,
    },
    trigger_id: `${Date.now()}.${state.nextId()}.fake`,
    team: { id: state.teamId, domain: 'fake' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: message.channel, name: message.channel.startsWith('D') ? 'directmessage' : 'ops' },
    message: { type: 'message', ts: message.ts, text: message.versions.at(-1)?.text, blocks },
    state: { values: {} },
    response_url: responseUrl,
    actions: [
      {
        action_id: button.action_id,
        block_id: 'b1',
        text: button.text,
        value: button.value,
        ...(button.style ? { style: button.style } : {}),
        type: 'button',
        action_ts: now.toFixed(6),
      },
    ],
  };
}
