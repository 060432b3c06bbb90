// The bot's Matrix session: the configured access token, or a password login whose access token and
// device id are kept in Redis, so the bot stays one device across restarts. A kept token is checked
// with whoami; one the homeserver no longer knows is replaced by a new login.
import type { Redis } from 'ioredis';
import { createClient } from 'matrix-js-sdk';
import type { Logger } from 'pino';
import { VmopsError } from '../../src/errors.ts';
import { sdkLogger } from './sdk-log.ts';
import type { MatrixKeys } from './sync-store.ts';

export interface MatrixSession {
  accessToken: string;
  deviceId?: string;
}

export interface SessionOptions {
  homeserverUrl: string;
  userId: string;
  accessToken?: string;
  password?: string;
  deviceId?: string;
  log: Logger;
}

/** The access token (and device) to use: configured, or from a password login kept in Redis. */
export async function matrixSession(
  o: SessionOptions,
  redis: Redis | undefined,
  keys: MatrixKeys,
  fetchFn: typeof fetch,
): Promise<MatrixSession> {
  if (o.accessToken) return { accessToken: o.accessToken, ...(o.deviceId ? { deviceId: o.deviceId } : {}) };
  if (!redis || !o.password)
    throw new VmopsError('config_invalid', 'networks.matrix needs accessToken or password');
  const [token, storedDevice] = await redis.hmget(keys.session, 'access_token', 'device_id');
  if (token) {
    const probe = createClient({
      baseUrl: o.homeserverUrl,
      userId: o.userId,
      accessToken: token,
      fetchFn,
      logger: sdkLogger,
    });
    try {
      const who = await probe.whoami();
      if (who.user_id === o.userId)
        return { accessToken: token, ...(who.device_id ? { deviceId: who.device_id } : {}) };
    } catch (error) {
      if ((error as { errcode?: string }).errcode !== 'M_UNKNOWN_TOKEN') {
        // Not reachable now: go on with the token; the sync retries until the homeserver is back.
        return { accessToken: token, ...(storedDevice ? { deviceId: storedDevice } : {}) };
      }
    }
  }
  const anonymous = createClient({ baseUrl: o.homeserverUrl, fetchFn, logger: sdkLogger });
  const deviceId = storedDevice ?? o.deviceId;
  let login: { user_id: string; access_token: string; device_id?: string };
  try {
    login = await anonymous.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: o.userId },
      password: o.password,
      ...(deviceId ? { device_id: deviceId } : {}),
      initial_device_display_name: 'vmops',
    });
  } catch (error) {
    const e = error as { errcode?: string; message?: string };
    throw new VmopsError(
      'config_invalid',
      `the Matrix homeserver refused the login of ${o.userId} (${e.errcode ?? e.message}): check networks.matrix.userId and password`,
    );
  }
  await redis.hset(keys.session, 'access_token', login.access_token, 'device_id', login.device_id ?? '');
  o.log.info({ userId: login.user_id, deviceId: login.device_id }, 'matrix login done');
  return { accessToken: login.access_token, ...(login.device_id ? { deviceId: login.device_id } : {}) };
}
