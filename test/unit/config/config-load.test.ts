// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${ENV} references are the config syntax under test
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfigPath, loadConfig, parseConfig, repoRoot } from '../../../src/app/config-load.ts';
import { configProblems } from '../../helpers/config-problems.ts';

const defaults = readFileSync(defaultConfigPath, 'utf8');

const problems = (text: string, env: NodeJS.ProcessEnv = {}) => configProblems(text, { env });

describe('configuration', () => {
  it('loads the default config with defaults filled in and durations in ms', () => {
    const config = loadConfig();
    expect(config.defaultProduct).toBe('cernvm');
    expect(config.products.cernvm?.stages.build?.steps[0]?.timeout).toBe(600_000);
    expect(config.jobs.stepTimeout).toBe(1_800_000);
  });

  it('names the file, the line, the key and the reason for an unknown key', () => {
    const text = defaults.replace('  name: vmops\n', '  nmae: vmops\n');
    expect(problems(text)).toMatch(/my\.yaml:\d+: bot: Unrecognized key: "nmae"/);
  });

  it('refuses a product format that is not a format, naming the list', () => {
    const text = defaults.replace('formats: [kvm, vmware,', 'formats: [kvmm, vmware,');
    expect(problems(text)).toMatch(
      /products\.cernvm\.formats\[0\]: "kvmm" is not a format listed under formats/,
    );
  });

  it('refuses a bad duration and a default product that does not exist', () => {
    expect(problems(defaults.replace('timeout: 10m', 'timeout: soon'))).toContain(
      'products.cernvm.stages.build.steps[0].timeout: "soon" is not a duration (write 30s, 10m, 2h)',
    );
    expect(problems(defaults.replace('defaultProduct: cernvm', 'defaultProduct: other'))).toContain(
      'defaultProduct: "other" is not one of the products (cernvm, demo)',
    );
  });

  it('substitutes ${ENV} and says which variable is missing', () => {
    const text = defaults.replace('prefix: vmops', 'prefix: ${VMOPS_TEST_PREFIX}');
    expect(parseConfig(text, 'my.yaml', { VMOPS_TEST_PREFIX: 'team1' }).redis.prefix).toBe('team1');
    expect(problems(text)).toMatch(/redis\.prefix: environment variable VMOPS_TEST_PREFIX is not set/);
    const fallback = defaults.replace('prefix: vmops', 'prefix: ${VMOPS_TEST_PREFIX:-fallback}');
    expect(parseConfig(fallback, 'my.yaml', {}).redis.prefix).toBe('fallback');
  });

  it('refuses one account listed for two people', () => {
    const text = defaults.replace('accounts: { shell: bob }', 'accounts: { shell: alice }');
    expect(problems(text)).toContain('people.bob.accounts.shell: shell account "alice" is already alice\'s');
  });

  it('wants XMPP accounts as bare JIDs and Matrix accounts as user ids, never nicknames', () => {
    const xmpp = defaults.replace(
      'accounts: { shell: bob }',
      'accounts: { shell: bob, xmpp: "ops@conference.example.org/bob" }',
    );
    expect(problems(xmpp)).toContain(
      'people.bob.accounts.xmpp: "ops@conference.example.org/bob" is not a bare JID (user@domain, without /resource): vmops knows XMPP people by their bare JID',
    );
    const slack = defaults.replace('accounts: { shell: bob }', 'accounts: { shell: bob, slack: "@bob" }');
    expect(problems(slack)).toContain(
      'people.bob.accounts.slack: "@bob" is not a Slack user id (U0123ABCD, or T0TEAM:U0123ABCD for another workspace): vmops knows Slack people by their user id, never their name',
    );
    const matrix = defaults.replace('accounts: { shell: bob }', 'accounts: { shell: bob, matrix: Bob }');
    expect(problems(matrix)).toContain(
      'people.bob.accounts.matrix: "Bob" is not a Matrix user id (@user:server): vmops knows Matrix people by their user id, never their display name',
    );
  });

  it('wants the people on call to be approvers', () => {
    expect(problems(defaults.replace('rota: [bob, dave]', 'rota: [bob, carol]'))).toContain(
      'oncall.rota[1]: carol has the roles viewer: people on call answer approval requests, so they need the approver role',
    );
  });

  it('reports YAML syntax errors with a position, and a missing file plainly', () => {
    expect(problems('a: [\n')).toMatch(/my\.yaml(:\d+:\d+)?: /);
    expect(() => loadConfig('/nonexistent/vmops.yaml')).toThrow(
      '/nonexistent/vmops.yaml: cannot read the configuration: no such file',
    );
  });
});

describe('example configurations', () => {
  it.each(readdirSync(join(repoRoot, 'config', 'examples')).filter((f) => f.endsWith('.yaml')))(
    'config/examples/%s is valid',
    (file) => {
      expect(() => loadConfig(join(repoRoot, 'config', 'examples', file), {})).not.toThrow();
    },
  );

  it('refuses a step on a host that is not configured, and a malformed host key', () => {
    const text = defaults
      .replace(
        '{ name: build, run: [recipes/cernvm/build.sh], timeout: 10m }',
        '{ name: build, run: [x], host: nowhere }',
      )
      .concat('\nhosts:\n  h1: { host: h, user: u, hostKeys: ["abc"], agent: true, repoRoot: /r }\n');
    const message = problems(text);
    expect(message).toContain(
      'hosts.h1.hostKeys[0]: must be a host key fingerprint as `ssh-keygen -lf` prints it: SHA256:…',
    );
    const key = `SHA256:${'A'.repeat(43)}`;
    expect(problems(text.replace('"abc"', `"${key}"`))).toContain(
      'products.cernvm.stages.build.steps[0].host: "nowhere" is not one of the hosts (h1)',
    );
  });
});
