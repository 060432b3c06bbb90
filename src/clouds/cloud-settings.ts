// What a cloud step needs to know of the clouds, handed over in one environment variable that only
// steps marked `cloudAccess` receive (src/worker/run-stage.ts): each cloud's config (secrets included)
// and its user-data template's text, read by the worker so that an SSH step needs no file of ours.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CloudConfig, Config } from '../../config/schema.ts';
import type { JobData } from '../types.ts';

/** The variable the settings travel in. */
export const CLOUD_SETTINGS_VAR = 'VMOPS_CLOUD_SETTINGS';

/** One cloud as the step receives it. */
export interface CloudSettings {
  config: CloudConfig;
  /** The user-data template's text, when the cloud has one and it could be read. */
  userDataTemplate?: string;
  /** Why the template could not be read. */
  userDataError?: string;
}

/** Reads a cloud's user-data template; relative paths are relative to the working directory. */
export function readUserDataTemplate(
  cloud: CloudConfig,
  cwd: string = process.cwd(),
): Pick<CloudSettings, 'userDataTemplate' | 'userDataError'> {
  if (cloud.userData === undefined) return {};
  try {
    return { userDataTemplate: readFileSync(resolve(cwd, cloud.userData), 'utf8') };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    return { userDataError: `cannot read the user-data template ${cloud.userData}: ${reason}` };
  }
}

/**
 * The environment only cloud steps get: a deploy job's own cloud, or every cloud for update and
 * revoke (which find the version wherever it is). Empty for other stages.
 */
export function cloudStepEnvironment(data: JobData, clouds: Config['clouds']): Record<string, string> {
  const names =
    data.stage === 'deploy'
      ? [data.cloud].filter((cloud): cloud is string => cloud !== undefined)
      : data.stage === 'update' || data.stage === 'revoke'
        ? Object.keys(clouds)
        : [];
  const settings: Record<string, CloudSettings> = {};
  for (const name of names) {
    const config = Object.hasOwn(clouds, name) ? clouds[name] : undefined;
    if (config !== undefined) settings[name] = { config, ...readUserDataTemplate(config) };
  }
  return names.length === 0 ? {} : { [CLOUD_SETTINGS_VAR]: JSON.stringify(settings) };
}

/** Reads the settings back in the step. */
export function parseCloudSettings(env: NodeJS.ProcessEnv): Record<string, CloudSettings> {
  const raw = env[CLOUD_SETTINGS_VAR];
  if (raw === undefined || raw === '') return {};
  return JSON.parse(raw) as Record<string, CloudSettings>;
}
