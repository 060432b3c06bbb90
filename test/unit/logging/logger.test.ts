// Secrets never reach a log line: known secret fields are redacted by path, and Redis URLs lose their password.
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from '../../../src/observability/logger.ts';
import { captureLog } from '../../helpers/log-capture.ts';

describe('logger', () => {
  it('redacts tokens, passwords and secrets wherever a config or request object is logged', () => {
    const { lines, stream } = captureLog();
    const log = createLogger({ level: 'info', destination: stream });
    log.info(
      {
        slack: { token: 'xoxb-123', appToken: 'xapp-456', signingSecret: 'shh' },
        matrix: { accessToken: 'syt_789', password: 'hunter2' },
        request: { headers: { authorization: 'Bearer abc' } },
        config: {
          redis: { url: 'redis://:pw@redis.example:6379' },
          networks: { xmpp: { jid: 'vmops@example.org', password: 'xmpp-pw-1' } },
          audit: { key: 'audit-key-0123456789' },
          clouds: {
            aws: {
              driver: 'ec2',
              accessKeyId: 'AKIAEXAMPLE',
              secretAccessKey: 'aws-secret-1',
              sessionToken: 'aws-session-1',
            },
            openstack: {
              driver: 'glance',
              token: 'os-token-1',
              keystone: { username: 'vmops', password: 'os-pw-1' },
            },
          },
        },
        cloud: { secretAccessKey: 'aws-secret-2' },
        env: { VMOPS_CLOUD_SETTINGS: '{"aws":{"secretAccessKey":"aws-secret-3"}}' },
      },
      'starting',
    );
    const text = lines.join('');
    for (const secret of [
      'xoxb-123',
      'xapp-456',
      'shh',
      'syt_789',
      'hunter2',
      'Bearer abc',
      ':pw@',
      'xmpp-pw-1',
      'audit-key-0123456789',
      'aws-secret-1',
      'aws-session-1',
      'os-token-1',
      'os-pw-1',
      'aws-secret-2',
      'aws-secret-3',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
    expect(JSON.parse(lines[0] ?? '{}').msg).toBe('starting');
  });

  it('shows a Redis URL without its password', () => {
    expect(redactUrl('redis://user:s3cret@redis.example:6380/2')).toBe(
      'redis://user:redacted@redis.example:6380/2',
    );
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('not a url')).toBe('[unparseable url]');
  });
});
