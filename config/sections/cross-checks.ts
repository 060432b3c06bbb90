// Checks across sections, after each section is valid on its own: format aliases that clash, the
// default product, hosts, formats and products that steps, clouds and schedules name, accounts
// listed twice or not in their network's stable-id form, the on-call rota and approval timings.
import type { z } from 'zod';
import type { CloudConfig } from './clouds.ts';
import type { OncallConfig, PersonConfig } from './people.ts';
import type { ApprovalsConfig } from './policy.ts';
import type { FormatConfig, ProductConfig } from './products.ts';
import type { ScheduleConfig } from './schedules.ts';

/** The parts of a configuration the checks read. */
export interface CrossChecked {
  defaultProduct: string;
  products: Record<string, ProductConfig>;
  formats: Record<string, FormatConfig>;
  clouds: Record<string, CloudConfig>;
  hosts: Record<string, unknown>;
  people: Record<string, PersonConfig>;
  schedules: Record<string, ScheduleConfig>;
  policy: { approvals: ApprovalsConfig };
  oncall: OncallConfig;
}

export function crossCheck(config: CrossChecked, ctx: z.RefinementCtx): void {
  const formats = new Set(Object.keys(config.formats));
  const seen = new Map<string, string>();
  for (const [format, spec] of Object.entries(config.formats)) {
    for (const word of [format, ...spec.aliases]) {
      const other = seen.get(word);
      if (other !== undefined && other !== format) {
        ctx.addIssue({
          code: 'custom',
          path: ['formats', format, 'aliases'],
          message: `"${word}" already names format ${other}`,
        });
      }
      seen.set(word, format);
    }
  }
  if (!(config.defaultProduct in config.products)) {
    ctx.addIssue({
      code: 'custom',
      path: ['defaultProduct'],
      message: `"${config.defaultProduct}" is not one of the products (${Object.keys(config.products).join(', ')})`,
    });
  }
  for (const [product, spec] of Object.entries(config.products)) {
    for (const [stage, stageSpec] of Object.entries(spec.stages)) {
      stageSpec?.steps.forEach((step, i) => {
        if (step.host !== undefined && !(step.host in config.hosts)) {
          ctx.addIssue({
            code: 'custom',
            path: ['products', product, 'stages', stage, 'steps', i, 'host'],
            message: `"${step.host}" is not one of the hosts (${Object.keys(config.hosts).join(', ') || 'none configured'})`,
          });
        }
      });
    }
    spec.formats.forEach((format, i) => {
      if (!formats.has(format)) {
        ctx.addIssue({
          code: 'custom',
          path: ['products', product, 'formats', i],
          message: `"${format}" is not a format listed under formats (${[...formats].join(', ')})`,
        });
      }
    });
  }
  for (const [cloud, spec] of Object.entries(config.clouds)) {
    if (spec.format !== undefined && !formats.has(spec.format)) {
      ctx.addIssue({
        code: 'custom',
        path: ['clouds', cloud, 'format'],
        message: `"${spec.format}" is not a format listed under formats (${[...formats].join(', ')})`,
      });
    }
  }
  for (const [schedule, spec] of Object.entries(config.schedules)) {
    const product = config.products[spec.product];
    if (!product) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedules', schedule, 'product'],
        message: `"${spec.product}" is not one of the products (${Object.keys(config.products).join(', ')})`,
      });
      continue;
    }
    spec.formats.forEach((format, i) => {
      if (format === 'all' ? spec.formats.length === 1 : product.formats.includes(format)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['schedules', schedule, 'formats', i],
        message:
          format === 'all'
            ? 'all stands alone: write [all] or list the formats'
            : `"${format}" is not a format of ${spec.product} (${product.formats.join(', ')}, or all)`,
      });
    });
  }
  const owners = new Map<string, string>();
  for (const [person, spec] of Object.entries(config.people)) {
    for (const [network, account] of Object.entries(spec.accounts)) {
      const key = `${network}:${account}`;
      const other = owners.get(key);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['people', person, 'accounts', network],
          message: `${network} account "${account}" is already ${other}'s`,
        });
      }
      owners.set(key, person);
      if (network === 'xmpp' && !/^[^@/\s]+@[^@/\s]+$/.test(account)) {
        ctx.addIssue({
          code: 'custom',
          path: ['people', person, 'accounts', network],
          message: `"${account}" is not a bare JID (user@domain, without /resource): vmops knows XMPP people by their bare JID`,
        });
      }
      if (network === 'slack' && !/^(T[A-Z0-9]+:)?[UW][A-Z0-9]+$/.test(account)) {
        ctx.addIssue({
          code: 'custom',
          path: ['people', person, 'accounts', network],
          message: `"${account}" is not a Slack user id (U0123ABCD, or T0TEAM:U0123ABCD for another workspace): vmops knows Slack people by their user id, never their name`,
        });
      }
      if (network === 'matrix' && !/^@[^:\s]+:[^\s]+$/.test(account)) {
        ctx.addIssue({
          code: 'custom',
          path: ['people', person, 'accounts', network],
          message: `"${account}" is not a Matrix user id (@user:server): vmops knows Matrix people by their user id, never their display name`,
        });
      }
    }
  }
  const people = Object.keys(config.people);
  config.oncall.rota.forEach((person, i) => {
    const roles = config.people[person]?.roles;
    if (!roles) {
      ctx.addIssue({
        code: 'custom',
        path: ['oncall', 'rota', i],
        message: `"${person}" is not one of the people (${people.join(', ') || 'none listed'})`,
      });
    } else if (!roles.includes('approver') && !roles.includes('admin')) {
      ctx.addIssue({
        code: 'custom',
        path: ['oncall', 'rota', i],
        message: `${person} has the roles ${roles.join(', ') || 'none'}: people on call answer approval requests, so they need the approver role`,
      });
    }
  });
  if (config.policy.approvals.approvedBy === 'oncall' && config.oncall.rota.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['policy', 'approvals', 'approvedBy'],
      message:
        'is oncall, but oncall.rota is empty: nobody could ever approve; list the rota or use approvers',
    });
  }
  const { expireAfter, escalateAfter } = config.policy.approvals;
  if (escalateAfter >= expireAfter && config.oncall.rota.length > 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['policy', 'approvals', 'escalateAfter'],
      message: `must be shorter than expireAfter (${expireAfter / 1000}s), or requests expire before they are escalated`,
    });
  }
}
