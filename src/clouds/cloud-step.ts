// The cloud driver as a recipe step: `node src/clouds/cloud-step.ts deploy|update|revoke`. It reads
// the job from the environment the worker sets (VMOPS_PRODUCT, VMOPS_VERSION, VMOPS_CLOUD, …), the
// clouds' settings from VMOPS_CLOUD_SETTINGS (only steps marked cloudAccess get it), reports in the
// step protocol (upload bytes and rate in `::progress`), and leaves what it did in
// $VMOPS_WORKDIR/cloud-<stage>.json (an `::artifact`), which the worker records in the catalog.
// Exit 0: done; 1: a cloud failed (named on stderr and in the result); 2: refused before any upload.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asVmopsError, VmopsError } from '../errors.ts';
import { type ActionContext, type CloudOutcome, deployTo, revokeFrom, updateOn } from './cloud-actions.ts';
import { CloudError } from './cloud-driver.ts';
import { type CloudSettings, parseCloudSettings } from './cloud-settings.ts';
import { openCloud } from './open-cloud.ts';
import { currentRevision, publishedFile } from './published-image.ts';
import { parseContext, renderUserData } from './user-data.ts';

export interface CloudStepResult {
  stage: string;
  ok: boolean;
  /** One line per cloud, for the status message. */
  summary: string;
  clouds: CloudOutcome[];
}

const print = (line: string) => process.stdout.write(`${line.replaceAll('\n', ' ')}\n`);

function need(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new VmopsError('step_failed', `${name} is not set`);
  return value;
}

/** The user-data for a deploy with --launch, rendered and checked before anything is sent. */
export function userDataFor(
  name: string,
  settings: CloudSettings,
  values: { product: string; version: string; revision: number; job: string },
  contextText: string | undefined,
): string | undefined {
  if (settings.userDataError !== undefined)
    throw new VmopsError('bad_user_data', `cloud ${name}: ${settings.userDataError}`);
  if (settings.userDataTemplate === undefined) return undefined;
  return renderUserData(
    settings.userDataTemplate,
    {
      ...parseContext(contextText),
      product: values.product,
      version: values.version,
      revision: String(values.revision),
      cloud: name,
      job: values.job,
    },
    name,
  );
}

export async function runCloudStep(
  stage: string,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<CloudStepResult> {
  const product = need(env, 'VMOPS_PRODUCT');
  const version = need(env, 'VMOPS_VERSION');
  const downloads = need(env, 'VMOPS_DOWNLOADS_DIR');
  const dataDir = need(env, 'VMOPS_DATA_DIR');
  const job = env.VMOPS_JOB_ID ?? 'local';
  const settings = parseCloudSettings(env);
  const revision =
    env.VMOPS_REVISION !== undefined
      ? Number(env.VMOPS_REVISION)
      : currentRevision(downloads, product, version);
  const ctx: ActionContext = { product, version, revision, job, signal, print };
  const outcomes: CloudOutcome[] = [];
  const failures: string[] = [];

  if (stage === 'deploy') {
    const name = need(env, 'VMOPS_CLOUD');
    const cloud = settings[name];
    if (cloud === undefined)
      throw new VmopsError(
        'step_failed',
        `cloud ${name} is not in this step's settings (is cloudAccess set on the step?)`,
      );
    const driver = await openCloud(name, cloud.config, dataDir);
    if (cloud.config.driver === 'directory') {
      const images = await driver.list({ product, version }, signal);
      const image = images.find((i) => i.state === 'offered');
      const outcome: CloudOutcome = {
        cloud: name,
        driver: 'directory',
        action: image === undefined ? 'skipped' : 'deployed',
        line: image === undefined ? `${name}: no files found` : `${name}: files in ${image.id}`,
      };
      if (image !== undefined)
        outcome.image = {
          id: image.id,
          revision,
          name: image.name,
          ...(image.sha256 ? { sha256: image.sha256 } : {}),
        };
      return { stage, ok: true, summary: outcome.line, clouds: [outcome] };
    }
    const launchCount = Number(env.VMOPS_PARAM_LAUNCH ?? '0');
    if (launchCount > 0 && !driver.canLaunch) {
      throw new VmopsError(
        'cloud_unsupported',
        `cloud ${name} (${cloud.config.driver}) cannot start instances: nothing was uploaded`,
      );
    }
    // The user-data is only sent with instances: rendered and checked before anything is uploaded.
    const userData =
      launchCount > 0
        ? userDataFor(name, cloud, { product, version, revision, job }, env.VMOPS_PARAM_CONTEXT)
        : undefined;
    const format = cloud.config.format ?? '';
    const file = publishedFile(downloads, product, version, format);
    const launch = launchCount > 0 ? { count: launchCount, userData: userData ?? '' } : undefined;
    outcomes.push(await deployTo(driver, file, format, ctx, launch));
  } else if (stage === 'update' || stage === 'revoke') {
    for (const [name, cloud] of Object.entries(settings)) {
      if (cloud.config.driver === 'directory') continue; // the recipe's own steps handle directories
      const driver = await openCloud(name, cloud.config, dataDir);
      const format = cloud.config.format ?? '';
      try {
        ctx.print(
          `::status ${stage === 'update' ? 'updating' : 'revoking'} ${product} ${version} on ${name}`,
        );
        const outcome =
          stage === 'update'
            ? await updateOn(driver, () => publishedFile(downloads, product, version, format), format, ctx)
            : await revokeFrom(driver, ctx, env.VMOPS_PARAM_TERMINATE === 'yes');
        outcomes.push(outcome);
      } catch (error) {
        if (signal.aborted) throw error;
        const message = error instanceof Error ? error.message : String(error);
        failures.push(message);
        outcomes.push({
          cloud: name,
          driver: cloud.config.driver,
          action: 'failed',
          line: message,
          error: message,
        });
      }
    }
  } else {
    throw new VmopsError('step_failed', `unknown cloud step "${stage}": use deploy, update or revoke`);
  }
  const lines = outcomes.filter((o) => o.action !== 'skipped' || stage === 'deploy').map((o) => o.line);
  // Without a glance or ec2 cloud there is nothing to say (the recipe's step did the directories).
  const summary =
    lines.length > 0 ? lines.join('; ') : outcomes.length > 0 ? `no cloud offers ${product} ${version}` : '';
  return { stage, ok: failures.length === 0, summary, clouds: outcomes };
}

async function main(): Promise<void> {
  const stage = process.argv[2] ?? '';
  const workdir = process.env.VMOPS_WORKDIR ?? process.cwd();
  const resultPath = join(workdir, `cloud-${stage.replace(/[^a-z]/g, '') || 'step'}.json`);
  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => controller.abort(new Error(`stopped by ${signal}`)));
  }
  print(`::artifact ${resultPath}`);
  const write = (result: CloudStepResult) =>
    writeFileSync(resultPath, `${JSON.stringify(result, null, 2)}\n`);
  try {
    const result = await runCloudStep(stage, process.env, controller.signal);
    write(result);
    if (!result.ok) {
      process.stderr.write(`${result.summary}\n`);
      process.exitCode = 1;
      return;
    }
    print(`::progress 100 ${result.summary || 'no glance or ec2 cloud to change'}`);
  } catch (error) {
    const failure = error instanceof CloudError ? error : asVmopsError(error);
    const refused =
      failure instanceof VmopsError && failure.code !== 'internal_error' && failure.code !== 'cloud_failed';
    const cloud = process.env.VMOPS_CLOUD;
    write({
      stage,
      ok: false,
      summary: failure.message,
      clouds: cloud
        ? [{ cloud, driver: '', action: 'failed', line: failure.message, error: failure.message }]
        : [],
    });
    process.stderr.write(`${failure.message}\n`);
    process.exitCode = refused ? 2 : 1;
  }
}

if (import.meta.main) await main();
