// Every chat command vmops knows, in the order help lists them.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { command as agents } from './agents.ts';
import { command as approve } from './approve.ts';
import { command as audit } from './audit.ts';
import { command as build } from './build.ts';
import { command as cancel } from './cancel.ts';
import { command as clouds } from './clouds.ts';
import { command as deny } from './deny.ts';
import { command as deploy } from './deploy.ts';
import { command as expunge } from './expunge.ts';
import { command as help } from './help.ts';
import { command as images } from './images.ts';
import { command as jobs } from './jobs.ts';
import { command as log } from './log.ts';
import { command as login } from './login.ts';
import { command as oncall } from './oncall.ts';
import { command as pending } from './pending.ts';
import { command as people } from './people.ts';
import { command as publish } from './publish.ts';
import { command as report } from './report.ts';
import { command as retry } from './retry.ts';
import { command as revoke } from './revoke.ts';
import { command as status } from './status.ts';
import { command as subscribe } from './subscribe.ts';
import { command as test } from './test.ts';
import { command as unsubscribe } from './unsubscribe.ts';
import { command as update } from './update.ts';
import { command as whoami } from './whoami.ts';
import { command as withdraw } from './withdraw.ts';

export const allCommands: readonly CommandSpec[] = [
  build,
  test,
  publish,
  deploy,
  update,
  revoke,
  images,
  clouds,
  jobs,
  status,
  log,
  report,
  cancel,
  retry,
  approve,
  deny,
  withdraw,
  pending,
  agents,
  subscribe,
  unsubscribe,
  oncall,
  whoami,
  login,
  people,
  audit,
  expunge,
  help,
];
