import { describe, expect, it } from 'vitest';
import { suggest } from '../../../src/grammar/suggest.ts';

const commands = ['build', 'test', 'publish', 'deploy', 'status', 'jobs', 'log', 'logs', 'help'];

describe('suggest', () => {
  it.each([
    ['bild', 'build', commands],
    ['BILD', 'build', commands],
    ['buidl', 'build', commands],
    ['stauts', 'status', commands],
    ['pub', 'publish', commands],
    ['jbs', 'jobs', commands],
    ['vmwre', 'vmware', ['kvm', 'vmware', 'virtualbox']],
    ['lxplus-clod', 'lxplus-cloud', ['local', 'lxplus-cloud']],
    ['Build', 'build', commands],
  ])('%s → %s', (word, expected, candidates) => {
    expect(suggest(word, candidates)).toBe(expected);
  });

  it.each([
    ['xyz', 'xyz', commands],
    ['an empty word', '', commands],
    ['b', 'b', commands],
    ['reboot', 'reboot', commands],
    ['a 5000-letter word', 'x'.repeat(5000), commands],
    ['kvm among no candidates', 'kvm', []],
  ])('finds nothing close to %s', (_label, word, candidates) => {
    expect(suggest(word, candidates)).toBeUndefined();
  });

  it('prefers the closest of several candidates', () => {
    expect(suggest('logz', ['log', 'logs'])).toBe('log');
    expect(suggest('tset', ['test', 'text'])).toBe('test');
  });
});
