// `audit [n] | audit verify | audit export`: the audit trail, for admins. Every command, decision,
// approval and state change is an entry chained to the one before by hash; `verify` walks the chain
// and names the first entry that breaks it; `export` writes every entry to a JSON-lines file in the
// data directory and verifies the chain as it goes.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { dataDirOf } from '../src/app/config-load.ts';
import { readCheckpoint } from '../src/audit/audit-checkpoint.ts';
import type { AuditEntry, AuditVerdict } from '../src/audit/audit-trail.ts';
import { VmopsError } from '../src/errors.ts';
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { echo } from '../src/grammar/echo.ts';
import { renderUntrusted } from '../src/render/untrusted.ts';

const DEFAULT_COUNT = 10;
const MAX_COUNT = 100;
const USAGE = `Usage: audit [how many, 1 to ${MAX_COUNT}] | audit verify [checkpoint] | audit export`;

/** One entry, every part of it shown escaped: entries keep what was typed verbatim (NUL, ESC and all). */
function line(entry: AuditEntry): string {
  const shown = (text: string) => renderUntrusted(text, 'line');
  const where = entry.room ? ` in ${shown(entry.room)}` : '';
  return `${shown(entry.at.replace('T', ' ').slice(0, 19))}Z  ${shown(entry.kind)}  ${shown(entry.summary)}${where}`;
}

/** What the chain was compared with, outside Redis. */
function anchorsLine(verdict: AuditVerdict): string {
  const anchors = verdict.anchors;
  if (!anchors) return ' No anchors outside Redis were compared (no journal here, no checkpoint given).';
  const parts = [
    `${anchors.anchors} anchors in ${anchors.journals} journal${anchors.journals === 1 ? '' : 's'} on this host`,
  ];
  if (anchors.checkpoints > 0) parts.push(`${anchors.checkpoints} signed checkpoint`);
  return ` Compared with ${parts.join(' and ')}${verdict.ok ? ': all held' : ''}.`;
}

export function describeVerdict(verdict: AuditVerdict): string {
  if (verdict.ok)
    return `The audit chain is intact: ${verdict.checked} entries, each matching its hash and the one before.${anchorsLine(verdict)}`;
  const broken = verdict.broken;
  return `The audit chain is BROKEN at entry ${broken?.id}: ${broken?.problem}. ${verdict.checked} entries were read up to there.${verdict.anchors ? anchorsLine(verdict) : ''}`;
}

export const command: CommandSpec = {
  name: 'audit',
  summary: 'show, verify or export the audit trail',
  description:
    "Every command, approval decision and state change, each chained to the one before by its hash and anchored outside Redis (a journal per process in the data directory, signed checkpoints in the admins' rooms). `audit` shows the latest entries, escaped; `audit verify` checks the whole chain against the anchors and names what was changed, removed or added behind vmops's back; `audit verify <checkpoint>` also checks a posted checkpoint; `audit export` writes every entry to a file in the data directory (JSON lines) and verifies it.",
  examples: ['audit', 'audit 30', 'audit verify', 'audit export'],
  access: 'admin',
  args: [{ name: 'what', kind: 'text', optional: true }],
  async run(ctx, args) {
    const [first = '', ...more] = (args.text ?? '').trim().split(/\s+/);
    const what = first.toLowerCase();
    if (what === 'verify') {
      const checkpoints = more.map((token) => readCheckpoint(ctx.config.audit.checkpoint?.key, token));
      const verdict = await ctx.audit.verify(undefined, checkpoints);
      return { reply: { tone: verdict.ok ? 'ok' : 'error', text: describeVerdict(verdict) } };
    }
    if (what === 'export') {
      const dir = join(dataDirOf(ctx.config), 'audit');
      await mkdir(dir, { recursive: true });
      const file = join(dir, `audit-${new Date(ctx.oncall.now()).toISOString().replace(/[:.]/g, '-')}.jsonl`);
      const out = createWriteStream(file, { mode: 0o600 });
      const verdict = await ctx.audit.verify((entry) => out.write(`${JSON.stringify(entry)}\n`));
      out.end();
      await finished(out);
      return {
        reply: {
          tone: verdict.ok ? 'ok' : 'error',
          text: `Exported ${verdict.checked} entries to ${file}.\n${describeVerdict(verdict)}`,
        },
      };
    }
    const count = what === '' ? DEFAULT_COUNT : more.length > 0 ? Number.NaN : Number(what);
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
      throw new VmopsError('bad_argument', `audit does not understand ${echo(args.text ?? '')}. ${USAGE}`);
    }
    const entries = await ctx.audit.recent(count);
    if (entries.length === 0) return { reply: { tone: 'info', text: 'The audit trail is empty.' } };
    const text = [`The last ${entries.length} audit entries, newest first:`, ...entries.map(line)].join('\n');
    return { reply: { tone: 'info', text } };
  },
};
