// Refuses a stage at once when no live worker can take it, rather than leaving it queued forever,
// and says which workers are there and how to start one that can.

import { VmopsError } from '../errors.ts';
import type { StageRequest } from '../grammar/command-spec.ts';
import { type AgentInfo, canTake } from './agent-presence.ts';
import { FORMAT_STAGES } from './stage-queues.ts';

export function describeAgent(agent: AgentInfo): string {
  return `${agent.name} (${agent.stages.join(', ')}; ${agent.formats.join(', ')})`;
}

export function checkWorkers(agents: readonly AgentInfo[], requests: readonly StageRequest[]): void {
  for (const request of requests) {
    const format = FORMAT_STAGES.has(request.stage) ? request.format : undefined;
    if (canTake(agents, request.stage, format)) continue;
    const what = format === undefined ? request.stage : `${request.stage} ${format}`;
    const hint =
      format === undefined ? `--stages ${request.stage}` : `--stages ${request.stage} --formats ${format}`;
    const live =
      agents.length === 0 ? 'no worker is running' : `live workers: ${agents.map(describeAgent).join('; ')}`;
    throw new VmopsError(
      'no_worker',
      `no live worker can ${what} right now (${live}): start one with npm start -- worker ${hint}. Nothing was queued.`,
    );
  }
}
