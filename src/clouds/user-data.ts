// Renders a cloud's cloud-init user-data template and checks the result before anything is sent:
// `{{name}}` placeholders filled from the deploy (product, version, revision, cloud, job) and the
// `--context key=value` values; the result must start with `#cloud-config`, be YAML, and fit the
// clouds' size limit (EC2 takes 16 KiB of user-data).
import { parse } from 'yaml';
import { VmopsError } from '../errors.ts';

/** EC2's limit on user-data, before base64. */
export const USER_DATA_LIMIT = 16 * 1024;

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;
const CONTEXT_KEY = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

/**
 * Reads `--context` text: `key=value` pairs separated by commas (`owner=alice,site=cern`). Throws
 * `bad_user_data` naming the first pair that is not one.
 */
export function parseContext(text: string | undefined): Record<string, string> {
  const context: Record<string, string> = {};
  if (text === undefined || text.trim() === '') return context;
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    const key = pair.slice(0, at).trim();
    if (at < 0 || !CONTEXT_KEY.test(key)) {
      throw new VmopsError(
        'bad_user_data',
        `--context takes key=value pairs separated by commas (owner=alice,site=cern), not "${pair.trim().slice(0, 60)}"`,
      );
    }
    context[key] = pair.slice(at + 1).trim();
  }
  return context;
}

/** A YAML double-quoted scalar of the value, so nothing in it can change the document's shape. */
function yamlScalar(value: string): string {
  return JSON.stringify(value);
}

/**
 * Fills the template. Each value goes in as a quoted YAML scalar, so a value cannot add keys or
 * lines; write `{{name}}` where a YAML value stands. Throws `bad_user_data` for a placeholder that
 * has no value, a result without the #cloud-config header, YAML that does not parse, or a result
 * over the size limit.
 */
export function renderUserData(
  template: string,
  values: Readonly<Record<string, string>>,
  cloud: string,
): string {
  const missing = new Set<string>();
  const rendered = template.replace(PLACEHOLDER, (_match, key: string) => {
    if (!Object.hasOwn(values, key)) {
      missing.add(key);
      return '';
    }
    return yamlScalar(values[key] ?? '');
  });
  const where = `the user-data template of cloud ${cloud}`;
  if (missing.size > 0) {
    const names = [...missing].join(', ');
    throw new VmopsError(
      'bad_user_data',
      `${where} uses ${names}, which has no value: give it with --context ${[...missing][0]}=… (known: ${Object.keys(values).join(', ')})`,
    );
  }
  validateUserData(rendered, where);
  return rendered;
}

/** Checks rendered user-data: the header, YAML and the size. */
export function validateUserData(text: string, where: string): void {
  if (!text.startsWith('#cloud-config\n') && text.trimEnd() !== '#cloud-config') {
    throw new VmopsError(
      'bad_user_data',
      `${where} does not start with a #cloud-config line: cloud-init would not read it as cloud-config`,
    );
  }
  const size = Buffer.byteLength(text);
  if (size > USER_DATA_LIMIT) {
    throw new VmopsError(
      'bad_user_data',
      `${where} is ${size} bytes once rendered: clouds take at most ${USER_DATA_LIMIT} bytes of user-data`,
    );
  }
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true });
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0] ?? 'unreadable';
    throw new VmopsError('bad_user_data', `${where} is not valid YAML once rendered: ${reason}`);
  }
  if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) {
    throw new VmopsError(
      'bad_user_data',
      `${where} must be a YAML mapping (keys like runcmd:, write_files:)`,
    );
  }
}
