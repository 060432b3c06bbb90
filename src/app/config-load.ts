// Reads a YAML configuration file, substitutes ${ENV} references in string values, and validates it
// against config/schema.ts. Every problem is reported as `file:line: key: reason`, and all of them at
// once, so a bad file is fixed in one go.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { type Config, configSchema } from '../../config/schema.ts';
import { VmopsError } from '../errors.ts';

/** The repository root (where package.json is). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const defaultConfigPath = join(repoRoot, 'config', 'default.yaml');

/** The data directory: VMOPS_DATA_DIR, or `bot.dataDir` from config, as an absolute path. */
export function dataDirOf(config: Pick<Config, 'bot'>, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.VMOPS_DATA_DIR || config.bot.dataDir);
}

type PathPart = string | number;

/** Shows a key path the way people write it: `products.cernvm.formats[2]`. */
export function formatKeyPath(path: readonly PathPart[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '(top level)' : out;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} and ${VAR:-default} in every string of a parsed tree; collects unset variables. */
function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: PathPart[],
  problems: { path: PathPart[]; message: string }[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_match, variable: string, fallback: string | undefined) => {
      const found = env[variable];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push({ path: [...path], message: `environment variable ${variable} is not set` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, [...path, i], problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, [...path, key], problems)]),
    );
  }
  return value;
}

/** Top-level sections a process does not use, so they are neither read nor checked (their defaults stand). */
export interface ConfigScope {
  skip?: readonly (keyof Config)[];
}

/** What a worker does not use: the chat networks (and their secrets) and the web console. */
export const WORKER_SCOPE: ConfigScope = { skip: ['networks', 'web'] };

/** Parses and validates configuration text. Throws VmopsError(config_invalid) listing every problem. */
export function parseConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  scope: ConfigScope = {},
): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const fail = (lines: string[]): never => {
    throw new VmopsError(
      'config_invalid',
      `${file} is not a valid vmops configuration:\n${lines.join('\n')}`,
      {
        file,
      },
    );
  };
  if (doc.errors.length > 0) {
    fail(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return `  ${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const lineOf = (path: PathPart[]): string => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && (isMap(node) || isSeq(node) || node.range)) {
        const offset = node.range?.[0];
        if (offset !== undefined) return `:${lineCounter.linePos(offset).line}`;
      }
    }
    return '';
  };
  const problems: { path: PathPart[]; message: string }[] = [];
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    fail([`  ${file}: the top level must be a mapping of keys`]);
  // A section this process does not use is left out before ${ENV} references are read: a worker must
  // not need the bot's chat secrets in its environment.
  const used = Object.fromEntries(
    Object.entries(raw as Record<string, unknown>).filter(
      ([key]) => !scope.skip?.includes(key as keyof Config),
    ),
  );
  const substituted = substituteEnv(used, env, [], problems);
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({
        path: issue.path.filter((p) => typeof p !== 'symbol') as PathPart[],
        message: issue.message,
      });
    }
  }
  if (problems.length > 0 || !parsed.success) {
    fail(problems.map((p) => `  ${file}${lineOf(p.path)}: ${formatKeyPath(p.path)}: ${p.message}`));
  }
  return (parsed as { data: Config }).data;
}

/** Reads and validates a configuration file (default: config/default.yaml). */
export function loadConfig(
  file: string = defaultConfigPath,
  env: NodeJS.ProcessEnv = process.env,
  scope: ConfigScope = {},
): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new VmopsError('config_invalid', `${file}: cannot read the configuration: ${reason}`, { file });
  }
  return parseConfig(text, file, env, scope);
}
