// Grammar of the job, approval, room and help commands.
import { describe, expect, it } from 'vitest';
import { parsed, refusal } from './parse-fixture.ts';

const NOT_A_JOB = 'is not a job id: job ids look like k3x9q2ab or k3x9q2ab-kvm; type jobs to see recent jobs';

describe('jobs [--limit N]', () => {
  it.each([
    ['jobs', {}],
    ['jobs --limit 30', { limit: 30 }],
    ['jobs --limit=1', { limit: 1 }],
    ['jobs limit=50', { limit: 50 }],
    ['queue --LIMIT 5', { limit: 5 }],
  ])('%s', (text, options) => {
    const { spec, args } = parsed(text);
    expect(spec.name).toBe('jobs');
    expect(args.options).toEqual(options);
  });

  it.each(['0', '51', 'abc', '2.5', '1e3'])('refuses --limit %s, giving the range', (value) => {
    const error = refusal(`jobs --limit ${value}`);
    expect(error.code).toBe('bad_option');
    expect(error.message).toBe(
      `--limit takes a whole number from 1 to 50, not '${value}'. Usage: jobs [--limit N]`,
    );
  });

  it('refuses --limit without a number', () => {
    expect(refusal('jobs --limit').message).toBe(
      '--limit needs a whole number from 1 to 50: write --limit N. Usage: jobs [--limit N]',
    );
  });

  it('refuses a bare number and unknown options', () => {
    expect(refusal('jobs 5').message).toBe(
      "unexpected '5': that is more than jobs takes. Usage: jobs [--limit N]",
    );
    expect(refusal('jobs --limt 5').message).toBe(
      "unknown option '--limt' for jobs: did you mean --limit? Options: --limit N. Usage: jobs [--limit N]",
    );
  });
});

describe('status [job]', () => {
  it('binds nothing or a job id (lower-cased)', () => {
    expect(parsed('status').args.words).toEqual({});
    expect(parsed('status K3X9Q2AB').args.words).toEqual({ job: 'k3x9q2ab' });
    expect(parsed('status k3x9q2ab-lxplus-cloud').args.words).toEqual({ job: 'k3x9q2ab-lxplus-cloud' });
  });

  it('binds ids lengthened with x after a collision', () => {
    expect(parsed('status k3x9q2abx').args.words).toEqual({ job: 'k3x9q2abx' });
    expect(parsed('status k3x9q2ab-lxplus-cloudxx').args.words).toEqual({ job: 'k3x9q2ab-lxplus-cloudxx' });
    expect(parsed(`status k3x9q2ab-${'c'.repeat(40)}x`).args.words.job).toMatch(/x$/);
  });

  it('refuses something that is not a job id', () => {
    const error = refusal('status abc');
    expect(error.code).toBe('bad_argument');
    expect(error.message).toBe(`'abc' ${NOT_A_JOB}`);
  });

  it('refuses a second job', () => {
    expect(refusal('status abcd1234 efgh5678').code).toBe('unexpected_argument');
  });
});

describe('log <job> [--tail N]', () => {
  it('binds the job and the tail', () => {
    expect(parsed('log k3x9q2ab').args).toMatchObject({ words: { job: 'k3x9q2ab' }, options: {} });
    expect(parsed('logs k3x9q2ab --tail 100').args.options).toEqual({ tail: 100 });
    expect(parsed('log k3x9q2ab tail=500').args.options).toEqual({ tail: 500 });
  });

  it('refuses a missing job, a bad job and a tail out of range', () => {
    expect(refusal('log').message).toBe(
      'log needs a job id: type jobs to see recent jobs. Usage: log <job> [--tail N]',
    );
    expect(refusal('log ../../etc/passwd').message).toBe(`'../../etc/passwd' ${NOT_A_JOB}`);
    expect(refusal('log k3x9q2ab --tail 501').message).toBe(
      "--tail takes a whole number from 1 to 500, not '501'. Usage: log <job> [--tail N]",
    );
  });
});

describe.each(['report', 'cancel', 'retry'])('%s <job>', (name) => {
  it('binds the job', () => {
    const { spec, args } = parsed(`${name} k3x9q2ab-kvm`);
    expect(spec.name).toBe(name);
    expect(args.words).toEqual({ job: 'k3x9q2ab-kvm' });
  });

  it('refuses a missing job, a bad job and a word too many', () => {
    expect(refusal(name).message).toBe(
      `${name} needs a job id: type jobs to see recent jobs. Usage: ${name} <job>`,
    );
    expect(refusal(`${name} k3x9q2ab_kvm`).message).toBe(`'k3x9q2ab_kvm' ${NOT_A_JOB}`);
    expect(refusal(`${name} k3x9q2ab now`).message).toBe(
      `unexpected 'now': that is more than ${name} takes. Usage: ${name} <job>`,
    );
  });
});

describe('approve <request>, deny <request> [reason…], pending', () => {
  it('binds a request id (lower-cased)', () => {
    expect(parsed('approve R-7F3K').args.words).toEqual({ request: 'r-7f3k' });
  });

  it('binds the reason of deny as the rest of the words', () => {
    const { spec, args } = parsed('deny r-7f3k not during the "conference week"');
    expect(spec.name).toBe('deny');
    expect(args.words).toEqual({ request: 'r-7f3k' });
    expect(args.text).toBe('not during the conference week');
    expect(parsed('deny r-7f3k').args.text).toBeUndefined();
  });

  it.each([
    ['deny r-1 see -h', 'see -h'],
    ['deny r-1 see --help', 'see --help'],
    ['deny r-1 it’s late', 'it’s late'],
    ['deny r-1 don’t, it’s “too late”', 'don’t, it’s too late'],
    ['deny r-1 ‘two words’ more', 'two words more'],
  ])('%s is a deny with the reason %j', (text, reason) => {
    const { spec, args } = parsed(text);
    expect(spec.name).toBe('deny');
    expect(args.text).toBe(reason);
  });

  it('refuses a missing or malformed request id', () => {
    expect(refusal('approve').message).toBe(
      'approve needs a request id: type pending to see the requests waiting for approval. Usage: approve <request>',
    );
    expect(refusal('deny "r 1"').message).toBe(
      "'r 1' is not a request id: type pending to see the requests waiting for approval",
    );
    expect(refusal('approve r1 r2').code).toBe('unexpected_argument');
  });

  it('pending takes nothing', () => {
    expect(parsed('pending').spec.name).toBe('pending');
    expect(refusal('pending all').message).toBe(
      "unexpected 'all': that is more than pending takes. Usage: pending",
    );
  });
});

describe.each(['subscribe', 'unsubscribe'])('%s [event…]', (name) => {
  it('binds no events or named events without duplicates', () => {
    expect(parsed(name).args.events).toEqual([]);
    expect(parsed(`${name} Published revoked published`).args.events).toEqual(['published', 'revoked']);
  });

  it('suggests the event meant by a typo and lists them', () => {
    const error = refusal(`${name} biult`);
    expect(error.code).toBe('bad_argument');
    expect(error.message).toBe(
      "unknown event 'biult': did you mean built? Events: built, passed, failed, published, deployed, revoked, updated",
    );
  });
});

describe.each(['agents', 'whoami', 'people'])('%s', (name) => {
  it('takes no arguments', () => {
    expect(parsed(name).spec.name).toBe(name);
    expect(refusal(`${name} please`).message).toBe(
      `unexpected 'please': that is more than ${name} takes. Usage: ${name}`,
    );
  });
});

describe('help [command]', () => {
  it.each([
    ['help', {}],
    ['help build', { command: 'build' }],
    ['help LOGS', { command: 'log' }],
    ['build --help', { command: 'build' }],
    ['deploy -H 2.6', { command: 'deploy' }],
    ['logs —help', { command: 'log' }],
    ['--help', {}],
    ['-h jobs', { command: 'jobs' }],
    ['help --help', { command: 'help' }],
  ])('%s', (text, words) => {
    const { spec, args } = parsed(text);
    expect(spec.name).toBe('help');
    expect(args.words).toEqual(words);
  });

  it('is help only right after the command word', () => {
    expect(refusal('deploy 2.6 -h').message).toBe(
      'unknown option \'-h\' for deploy: Options: --launch N, --context "…". Usage: deploy [product] <version> <cloud…> [--launch N] [--context "…"]',
    );
  });
});

describe('unknown and empty commands', () => {
  it.each(['bild 2.6 kvm', 'help bild'])('%s: suggests the command meant by a typo', (text) => {
    const error = refusal(text);
    expect(error.code).toBe('unknown_command');
    expect(error.message).toBe("unknown command 'bild': did you mean build? Type help for the list.");
  });

  it('points to help when nothing is close', () => {
    expect(refusal('shutdown now').message).toBe(
      "unknown command 'shutdown': type help for the list of commands.",
    );
    expect(refusal('reboot now').message).toBe(
      "unknown command 'reboot': did you mean report? Type help for the list.",
    );
  });

  it('points to help for an empty command', () => {
    const error = refusal('  ');
    expect(error.code).toBe('unknown_command');
    expect(error.message).toBe('there is no command here: type help for the list.');
  });

  it('reads command words in any case', () => {
    expect(parsed('BUILD 2.6 KVM').args.formats).toEqual(['kvm']);
  });

  it('keeps the text it parsed', () => {
    expect(parsed('  build 2.6 kvm ').text).toBe('build 2.6 kvm');
  });
});
