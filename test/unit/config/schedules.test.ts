// The schedules section of the config: cron (via cron-parser), time zone, product, version, formats.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultConfigPath, parseConfig } from '../../../src/app/config-load.ts';
import { configProblems } from '../../helpers/config-problems.ts';

const defaults = readFileSync(defaultConfigPath, 'utf8');

/** The default config with one schedule, written as YAML flow mappings. */
function withSchedule(schedule: string): string {
  return `${defaults}\nschedules:\n  nightly: ${schedule}\n`;
}

const problems = (text: string) => configProblems(text);

describe('schedules in config', () => {
  it('has none by default, and the commented example in default.yaml is valid once uncommented', () => {
    expect(parseConfig(defaults, 'default.yaml', {}).schedules).toEqual({});
    const example = defaults.replace(/^# (schedules:| {2}nightly:| {4}\w+:.*)$/gm, '$1');
    expect(parseConfig(example, 'default.yaml', {}).schedules).toEqual({
      nightly: {
        cron: '0 3 * * *',
        timezone: 'Europe/Zurich',
        product: 'cernvm',
        version: '2.6',
        formats: ['kvm', 'vmware'],
        stages: ['build', 'test'],
      },
    });
  });

  it('accepts five cron fields or a nickname, all formats, and stages given', () => {
    const config = parseConfig(
      withSchedule('{ cron: "@daily", product: cernvm, version: "2.6.1", formats: [all], stages: [build] }'),
      'my.yaml',
      {},
    );
    expect(config.schedules.nightly).toEqual({
      cron: '@daily',
      product: 'cernvm',
      version: '2.6.1',
      formats: ['all'],
      stages: ['build'],
    });
  });

  it.each([
    ['61 3 * * *', 'Constraint error, got value 61 expected range 0-59'],
    ['0 3 31 2 *', 'Invalid explicit day of month definition'],
    ['*/0 * * * *', 'Constraint error, cannot repeat at every 0 time.'],
    ['@sometimes', ''],
  ])('refuses the cron %j at its key with cron-parser’s reason', (cron, reason) => {
    const message = problems(
      withSchedule(`{ cron: "${cron}", product: cernvm, version: "2.6", formats: [kvm] }`),
    );
    expect(message).toMatch(
      new RegExp(
        `my\\.yaml:\\d+: schedules\\.nightly\\.cron: "${cron.replace(/[*@]/g, '\\$&')}" is not a cron expression: `,
      ),
    );
    expect(message).toContain(reason);
  });

  it('refuses a cron without five fields (cron-parser would read four or six differently)', () => {
    for (const [cron, count] of [
      ['0 3 * *', 4],
      ['0 0 3 * * *', 6],
      ['', 0],
    ] as const) {
      expect(
        problems(withSchedule(`{ cron: "${cron}", product: cernvm, version: "2.6", formats: [kvm] }`)),
      ).toContain(
        `schedules.nightly.cron: "${cron}" has ${count} field(s): write five (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`,
      );
    }
  });

  it('refuses an unknown time zone, product, format, version or stage, each at its key', () => {
    expect(
      problems(
        withSchedule(
          '{ cron: "0 3 * * *", timezone: Mars/Base, product: cernvm, version: "2.6", formats: [kvm] }',
        ),
      ),
    ).toContain('schedules.nightly.timezone: must be an IANA time zone, e.g. Europe/Zurich or UTC');
    expect(
      problems(withSchedule('{ cron: "0 3 * * *", product: cernvn, version: "2.6", formats: [kvm] }')),
    ).toContain('schedules.nightly.product: "cernvn" is not one of the products (cernvm, demo)');
    expect(
      problems(withSchedule('{ cron: "0 3 * * *", product: cernvm, version: "2.6", formats: [kvm, vbox] }')),
    ).toContain(
      'schedules.nightly.formats[1]: "vbox" is not a format of cernvm (kvm, vmware, virtualbox, xen, hyperv, ec2, or all)',
    );
    expect(
      problems(withSchedule('{ cron: "0 3 * * *", product: cernvm, version: "2.6", formats: [kvm, all] }')),
    ).toContain('schedules.nightly.formats[1]: all stands alone: write [all] or list the formats');
    expect(
      problems(withSchedule('{ cron: "0 3 * * *", product: cernvm, version: latest, formats: [kvm] }')),
    ).toContain('schedules.nightly.version: must be a version like 2.6 or 2.6.1');
    expect(
      problems(
        withSchedule(
          '{ cron: "0 3 * * *", product: cernvm, version: "2.6", formats: [kvm], stages: [publish] }',
        ),
      ),
    ).toMatch(/schedules\.nightly\.stages\[0\]: Invalid option: expected one of "build"\|"test"/);
  });
});
