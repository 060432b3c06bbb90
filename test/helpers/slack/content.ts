// Request bodies as Slack reads them (form or JSON, nested values as JSON strings) and Slack's checks on
// a message's content that vmops could get wrong (length, Block Kit limits).
import type { Block } from './types.ts';

const JSON_FIELDS = new Set(['blocks', 'attachments', 'files', 'metadata']);

/** Form bodies carry nested values as JSON strings (as @slack/web-api sends them). */
export function parseBody(type: string, raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (type.includes('application/json')) return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = JSON_FIELDS.has(key) ? tryJson(value) : value;
  }
  return args;
}

export function tryJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Slack's checks on a message's content that vmops could get wrong. */
export function checkContent(
  args: Record<string, unknown>,
): { text: string; blocks: Block[] | undefined } | { error: string } {
  const text = args.text === undefined ? '' : String(args.text);
  const blocks = args.blocks;
  if (!text && blocks === undefined) return { error: 'no_text' };
  if (text.length > 40_000) return { error: 'msg_too_long' };
  if (blocks === undefined) return { text, blocks: undefined };
  if (!Array.isArray(blocks) || blocks.length > 50) return { error: 'invalid_blocks' };
  for (const block of blocks as Block[]) {
    if (typeof block !== 'object' || block === null || typeof block.type !== 'string') {
      return { error: 'invalid_blocks' };
    }
    if (block.type === 'section') {
      const sectionText = (block.text as { text?: string } | undefined)?.text ?? '';
      const fields = (block.fields as unknown[] | undefined) ?? [];
      if (sectionText.length > 3000 || fields.length > 10) return { error: 'invalid_blocks' };
      if (!sectionText && fields.length === 0) return { error: 'invalid_blocks' };
    } else if (block.type === 'actions') {
      const elements = (block.elements as Block[] | undefined) ?? [];
      if (elements.length === 0 || elements.length > 25) return { error: 'invalid_blocks' };
      const ids = new Set(elements.map((e) => e.action_id));
      if (ids.size !== elements.length) return { error: 'invalid_blocks' };
      for (const e of elements) {
        const label = (e.text as { text?: string } | undefined)?.text ?? '';
        if (e.type !== 'button' || !label || label.length > 75 || String(e.value ?? '').length > 2000) {
          return { error: 'invalid_blocks' };
        }
      }
    } else if (block.type === 'context') {
      const elements = (block.elements as unknown[] | undefined) ?? [];
      if (elements.length === 0 || elements.length > 10) return { error: 'invalid_blocks' };
    } else if (!['header', 'divider'].includes(block.type)) {
      return { error: 'invalid_blocks' };
    }
  }
  return { text, blocks: blocks as Block[] };
}
