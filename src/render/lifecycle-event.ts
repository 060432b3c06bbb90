// Renders a lifecycle event as the one line subscribed rooms get; every field goes through printable.
import type { LifecycleEvent } from '../catalog/catalog.ts';
import { printable } from '../grammar/echo.ts';
import type { Reply, ReplyTone } from '../types.ts';
import { countsSummary } from './test-report.ts';

const ICON: Record<LifecycleEvent['event'], string> = {
  built: '📦',
  passed: '✅',
  failed: '❌',
  published: '📣',
  deployed: '🚀',
  revoked: '🚫',
  updated: '🔄',
};

const TONE: Record<LifecycleEvent['event'], ReplyTone> = {
  built: 'ok',
  passed: 'ok',
  failed: 'error',
  published: 'ok',
  deployed: 'ok',
  revoked: 'info',
  updated: 'ok',
};

const DETAIL_MAX = 300;
const WORD_MAX = 60;

/** Text on one line (runs of whitespace become one space), safe and cut to `max` characters. */
const oneLine = (text: string, max: number): string => printable(text.replace(/\s+/g, ' ').trim(), max);

function happened(event: LifecycleEvent, by: string, detail: string): string {
  switch (event.event) {
    case 'passed':
      return 'passed its tests';
    case 'failed':
      if (event.stage === 'build') return 'failed to build';
      return event.stage === 'test' ? 'failed its tests' : 'failed';
    case 'deployed':
      return event.cloud === undefined ? 'deployed' : `deployed on ${oneLine(event.cloud, WORD_MAX)}`;
    case 'revoked':
      return `revoked by ${by}${detail ? `: ${detail}` : ' (no reason given)'}`;
    default:
      return event.event;
  }
}

/** `📦 cernvm 2.6 kvm built · job abcd2345 · by alice`, `🚫 cernvm 2.5 revoked by bob: CVE-… · job …`. */
export function renderLifecycleEvent(event: LifecycleEvent): Reply {
  const by = oneLine(event.by, WORD_MAX);
  // A test stage's line is rendered from its numbers; older events carry it as text in `detail`.
  const text = event.detail ?? (event.tests ? countsSummary(event.tests) : undefined);
  const detail = text === undefined ? '' : oneLine(text, DETAIL_MAX);
  const subject = [event.product, event.version, event.format]
    .filter((part): part is string => part !== undefined)
    .map((part) => oneLine(part, WORD_MAX))
    .join(' ');
  const parts = [
    `${ICON[event.event]} ${subject} ${happened(event, by, detail)}`,
    `job ${oneLine(event.job, WORD_MAX)}`,
  ];
  if (event.event !== 'revoked') {
    parts.push(`by ${by}`);
    if (detail) parts.push(detail);
  }
  return { text: parts.join(' · '), tone: TONE[event.event] };
}
