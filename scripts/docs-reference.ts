// Writes the reference pages that are made from the code, so they cannot drift from it:
//   docs/reference/commands.md     every chat command: usage, summary, options, examples, who may run it
//   docs/reference/error-codes.md  every error code from src/errors.ts and what it means
// `npm run docs` runs it; test/unit/docs/reference-pages.test.ts fails when a page is not what this
// script would write now (add a command or an error code, then run npm run docs). The configuration
// and metrics pages are written by hand; that test checks they name every key and every metric.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { allCommands } from '../commands/index.ts';
import { configSchema } from '../config/schema.ts';
import { repoRoot } from '../src/app/config-load.ts';
import { ERROR_CODES } from '../src/errors.ts';
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { optionUsage, usageLine } from '../src/grammar/usage.ts';
import { accessText } from '../src/render/help.ts';
import { STAGES } from '../src/types.ts';

const GENERATED = 'Made by `npm run docs` from the code; do not edit by hand.';

/** Text for a Markdown table cell: pipes escaped, on one line. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function commandSection(spec: CommandSpec): string[] {
  const lines = [`## ${spec.name}`, '', '```', usageLine(spec), '```', ''];
  lines.push(`${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`);
  if (spec.description) lines.push('', spec.description);
  const options = spec.options ?? [];
  if (options.length > 0) {
    lines.push('', '| option | what it does |', '| --- | --- |');
    for (const option of options) {
      lines.push(`| \`${optionUsage(option).slice(1, -1)}\` | ${cell(option.description)} |`);
    }
  }
  if (spec.aliases && spec.aliases.length > 0) {
    lines.push('', `Also called: ${spec.aliases.map((alias) => `\`${alias}\``).join(', ')}.`);
  }
  if (spec.examples.length > 0) {
    lines.push('', 'Examples:', '', '```', ...spec.examples, '```');
  }
  lines.push(
    '',
    `Who may run it by default: ${accessText(spec.access)} (config \`policy.commands\` changes it).`,
  );
  return lines;
}

/** docs/reference/commands.md, from the command registry's specs. */
export function commandsPage(specs: readonly CommandSpec[] = allCommands): string {
  const sorted = [...specs].sort((a, b) => a.name.localeCompare(b.name));
  const lines = [
    '# Commands',
    '',
    GENERATED,
    '',
    'Every command vmops understands, in alphabetical order. In a room, address the bot (`@vmops …`,',
    '`vmops: …`, `!…`); in a direct message or the terminal, just type the command. `help` in chat lists',
    'only what the asker may run; `help <command>` shows the same text as here. How commands are read',
    '(quotes, `--flag`, `key=value`, did-you-mean) is in the [user guide](../user-guide.md).',
    '',
    sorted.map((spec) => `[${spec.name}](#${spec.name})`).join(' · '),
    '',
  ];
  for (const spec of sorted) lines.push(...commandSection(spec), '');
  return `${lines.join('\n').trimEnd()}\n`;
}

/** docs/reference/error-codes.md, from ERROR_CODES. */
export function errorCodesPage(codes: Record<string, string> = ERROR_CODES): string {
  const lines = [
    '# Error codes',
    '',
    GENERATED,
    '',
    'Every refusal and failure vmops reports carries one of these codes: in the reply (built from the',
    'code and a message that names what was wrong and what would be right), in the log line',
    '(`code`), in the audit trail and in `vmops_commands_total{outcome}` where it applies.',
    '',
    '| code | meaning |',
    '| --- | --- |',
    ...Object.entries(codes).map(([code, meaning]) => `| \`${code}\` | ${cell(meaning)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

/**
 * Every key the configuration schema accepts, as a path: `bot.name`, `products.<name>.formats`,
 * `products.<name>.stages.<stage>.steps[].run`. Map keys chosen by the user are `<name>`; the six
 * stages, which share one shape, are `<stage>`.
 */
export function configKeys(): string[] {
  const root = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const keys = new Set<string>();
  const walk = (schema: JsonSchema | undefined, path: string): void => {
    if (!schema) return;
    for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) {
      walk(branch, path);
    }
    const properties = Object.entries(schema.properties ?? {});
    const names = properties.map(([name]) => name);
    const stages = names.length === STAGES.length && STAGES.every((stage) => names.includes(stage));
    for (const [name, value] of stages ? properties.slice(0, 1) : properties) {
      const key = `${path}${path ? '.' : ''}${stages ? '<stage>' : name}`;
      keys.add(key);
      walk(value, key);
    }
    if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, `${path}.<name>`);
    if (schema.items) walk(schema.items, `${path}[]`);
  };
  walk(root, '');
  return [...keys];
}

/** The generated pages, by path relative to the repository. */
export function generatedPages(): Record<string, string> {
  return {
    'docs/reference/commands.md': commandsPage(),
    'docs/reference/error-codes.md': errorCodesPage(),
  };
}

if (import.meta.main) {
  for (const [path, text] of Object.entries(generatedPages())) {
    writeFileSync(join(repoRoot, path), text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
