// Hostile input: each attempt is refused with a reply that names what is wrong, or stays plain data.
import { describe, expect, it } from 'vitest';
import { parsed, refusal } from './parse-fixture.ts';

const FORMAT_LIST = 'cernvm is built for kvm, vmware, virtualbox, xen, hyperv, ec2 (or all)';

describe('injection attempts', () => {
  it.each([
    ['build 2.6 "kvm; rm -rf /"', `unknown format 'kvm; rm -rf /': ${FORMAT_LIST}`],
    ['build 2.6 $(reboot)', `unknown format '$(reboot)': ${FORMAT_LIST}`],
    ['build 2.6 `reboot`', `unknown format '\`reboot\`': ${FORMAT_LIST}`],
    ['build 2.6 kvm && reboot', `unknown format '&&': ${FORMAT_LIST}`],
    ['build 2.6 kvm | sh', `unknown format '|': ${FORMAT_LIST}`],
    ['build 2.6 kvm;', `unknown format 'kvm;': did you mean kvm? ${FORMAT_LIST}`],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the test is that ${HOME} stays literal text
    ['build 2.6 ${HOME}', `unknown format '\${HOME}': ${FORMAT_LIST}`],
    ['build 2.6 __proto__', `unknown format '__proto__': ${FORMAT_LIST}`],
  ])('%s is refused as a format', (text, message) => {
    const error = refusal(text);
    expect(error.code).toBe('unknown_format');
    expect(error.message).toBe(message);
  });

  it('refuses `build 2.6 kvm; rm -rf /` at the -rf', () => {
    expect(refusal('build 2.6 kvm; rm -rf /').message).toBe(
      "unknown option '-rf': build takes no options. Usage: build [product] <version> <format…|all>",
    );
  });

  it.each([
    'build 2.6 -rf',
    'build -rf 2.6 kvm',
    'build 2.6 kvm --',
    'build 2.6 -- -rf',
    'build 2.6 kvm --exec=reboot',
  ])('%s: a word starting with - is never a positional', (text) => {
    const error = refusal(text);
    expect(error.code).toBe('bad_option');
    expect(error.message).toMatch(/^unknown option '-[^']*': build takes no options\. Usage: build /);
  });

  it('refuses a leading -rf as a command', () => {
    expect(refusal('-rf /').message).toBe("unknown command '-rf': type help for the list of commands.");
  });

  it('refuses a newline that would smuggle a second command', () => {
    const error = refusal('build 2.6 kvm\nrevoke 2.5');
    expect(error.code).toBe('bad_syntax');
    expect(error.message).toContain('control character U+000A (newline) at position 14');
  });

  it('refuses a NUL byte', () => {
    expect(refusal('build 2.6 kvm\u0000').message).toContain('control character U+0000 (NUL) at position 14');
  });

  it('refuses terminal escape sequences', () => {
    expect(refusal('build 2.6 \u001b]0;pwned\u0007kvm').message).toContain('U+001B (escape) at position 11');
  });

  it('refuses a 10 kB command before reading it', () => {
    const error = refusal(`build 2.6 ${'kvm '.repeat(2560)}`);
    expect(error.code).toBe('bad_syntax');
    expect(error.message).toBe(
      'the command is 10250 characters long; vmops reads commands of at most 2000 characters',
    );
  });

  it('refuses path tricks in every argument kind', () => {
    expect(refusal('build ../../etc 2.6 kvm').code).toBe('bad_version');
    expect(refusal('deploy 2.6 ../../root').message).toBe(
      "unknown cloud '../../root': Clouds: local, lxplus-cloud",
    );
    expect(refusal('status ../x').code).toBe('bad_argument');
    expect(refusal('approve ../x').code).toBe('bad_argument');
  });

  it('does not find prototype properties as commands, options or clouds', () => {
    expect(refusal('__proto__').code).toBe('unknown_command');
    expect(refusal('help constructor').code).toBe('unknown_command');
    expect(refusal('jobs --__proto__=1').code).toBe('bad_option');
    expect(refusal('jobs toString=1').code).toBe('unexpected_argument');
    expect(refusal('deploy 2.6 constructor').code).toBe('unknown_cloud');
  });

  it('echoes at most 60 characters of a long word, and refuses bidi overrides by name', () => {
    const message = refusal(`build 2.6 ${'A'.repeat(300)}`).message;
    expect(message).toBe(`unknown format '${'A'.repeat(59)}…': ${FORMAT_LIST}`);
    const bidi = refusal('build 2.6 kvm\u202Emvk');
    expect(bidi.code).toBe('bad_syntax');
    expect(bidi.message).toBe(
      'invisible direction character U+202E (right-to-left override) at position 14 is not allowed: retype the command without it (some keyboards add it)',
    );
  });

  it('never answers a command hidden behind a direction mark with "did you mean" the same word', () => {
    for (const mark of [
      '\u200E',
      '\u200F',
      '\u202A',
      '\u202B',
      '\u202C',
      '\u202D',
      '\u202E',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
    ]) {
      const error = refusal(`${mark}build 2.6 kvm`);
      expect(error.code).toBe('bad_syntax');
      expect(error.message).toMatch(
        /^invisible direction character U\+[0-9A-F]{4} \([a-z -]+\) at position 1 /,
      );
      expect(error.message).not.toContain(mark);
    }
  });

  it('keeps shell text in a reason as plain data (steps get it as an environment variable)', () => {
    expect(parsed('revoke 2.5 --reason "$(rm -rf /); `reboot`"').args.options.reason).toBe(
      '$(rm -rf /); `reboot`',
    );
  });
});
