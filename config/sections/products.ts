// Products, their versions' package sets, stages and steps; the SSH build hosts steps may run on; formats.
import { z } from 'zod';
import { duration, name } from './primitives.ts';

export const stepSchema = z
  .object({
    /** Short name shown in the status message. */
    name: z.string().min(1).max(60),
    /** argv: the program and its arguments; never run through a shell. A relative program path is relative to the repository. */
    run: z.array(z.string()).min(1),
    /** Kill the step after this long. */
    timeout: duration.optional(),
    /** Extra environment variables (fixed values from config, not from users). */
    env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string()).optional(),
    /** Run on this SSH host (a key of `hosts`) instead of where the worker runs. */
    host: name.optional(),
    /** The step is a cloud driver (src/clouds/cloud-step.ts): it alone gets the clouds' settings and secrets, in VMOPS_CLOUD_SETTINGS. */
    cloudAccess: z.boolean().optional(),
  })
  .strict();

const sshFingerprint = z
  .string()
  .regex(
    /^SHA256:[A-Za-z0-9+/]{43}$/,
    'must be a host key fingerprint as `ssh-keygen -lf` prints it: SHA256:…',
  );

export const hostSchema = z
  .object({
    /** Address of the SSH server. */
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    /** Login name. */
    user: z.string().min(1),
    /** Accepted host keys (fingerprints); any other key is refused. Several allow a rotation. */
    hostKeys: z.array(sshFingerprint).min(1),
    /** Private key file for the login (relative to the working directory); or use `agent`. */
    privateKeyFile: z.string().optional(),
    /** Use the SSH agent at SSH_AUTH_SOCK. */
    agent: z.boolean().default(false),
    /** Where relative step programs (`recipes/cernvm/build.sh`) are found on that host. */
    repoRoot: z.string().min(1),
    /** Where job working directories go on that host. */
    workRoot: z.string().min(1).default('/tmp/vmops-work'),
    /** Give up connecting after this long. */
    connectTimeout: duration.default(20_000),
    /** Guests the recipes may boot at once on that host (VMOPS_BOOT_SLOTS); unset: 1 under TCG, its CPU count with a working KVM. */
    bootSlots: z.number().int().min(1).max(64).optional(),
  })
  .strict()
  .refine((h) => h.privateKeyFile !== undefined || h.agent, 'needs privateKeyFile or agent: true');

const stageSchema = z.object({ steps: z.array(stepSchema).min(1) }).strict();

/** A Debian package name, as apt spells it. */
const packageName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9+.-]+$/,
    'must be a Debian package name (lower-case letters, digits, + . -), like cloud-init',
  );

/** What goes into a version of a product: a Debian suite and its packages, collected with mmdebstrap. */
export const packageSetSchema = z
  .object({
    /** The Debian suite (codename), like bookworm. */
    suite: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a Debian suite name, like bookworm'),
    /** Packages of this version, added to the product's `packages`. */
    packages: z.array(packageName).default([]),
    /** Exact versions for some packages (`tzdata: 2025b-0+deb12u1`); `update` collects them unpinned. */
    pins: z
      .record(
        packageName,
        z.string().regex(/^[A-Za-z0-9.+~:-]+$/, 'must be a Debian package version, like 2025b-0+deb12u1'),
      )
      .default({}),
    /** Collect from snapshot.debian.org at this time (YYYYMMDDTHHMMSSZ) instead of the mirror. */
    snapshot: z
      .string()
      .regex(/^\d{8}T\d{6}Z$/, 'must be a snapshot.debian.org time stamp, like 20250520T000000Z')
      .optional(),
    /** A Debian mirror URL; default the product's mirror, else the build host's apt sources. */
    mirror: z
      .string()
      .regex(/^https?:\/\/[A-Za-z0-9._:/~+-]+$/, 'must be an http(s) URL of a Debian mirror')
      .optional(),
  })
  .strict();

export const productSchema = z
  .object({
    description: z.string().default(''),
    /** Formats this product is built for (canonical names from `formats`). */
    formats: z.array(name).min(1),
    /** Packages every version of the product gets (a version adds its own). */
    packages: z.array(packageName).default([]),
    /** A Debian mirror URL for every version; default the build host's apt sources. */
    mirror: z
      .string()
      .regex(/^https?:\/\/[A-Za-z0-9._:/~+-]+$/, 'must be an http(s) URL of a Debian mirror')
      .optional(),
    /** Each version's package set, by version (`"2.6"`). Products whose recipe collects no packages have none. */
    versions: z
      .record(z.string(), packageSetSchema)
      .default({})
      .superRefine((versions, ctx) => {
        for (const version of Object.keys(versions)) {
          if (!/^\d+(\.\d+){1,3}$/.test(version))
            ctx.addIssue({
              code: 'custom',
              path: [version],
              message: `"${version}" is not a version: write it like "2.6" or "2.6.1" (quoted in YAML)`,
            });
        }
      }),
    /** Steps per stage. A stage without steps answers `no_recipe`. */
    stages: z
      .object({
        build: stageSchema.optional(),
        test: stageSchema.optional(),
        publish: stageSchema.optional(),
        deploy: stageSchema.optional(),
        update: stageSchema.optional(),
        revoke: stageSchema.optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export const formatSchema = z
  .object({
    description: z.string().default(''),
    aliases: z.array(name).default([]),
  })
  .strict();

export type StepConfig = z.output<typeof stepSchema>;
export type HostConfig = z.output<typeof hostSchema>;
export type PackageSetConfig = z.output<typeof packageSetSchema>;
export type ProductConfig = z.output<typeof productSchema>;
export type FormatConfig = z.output<typeof formatSchema>;
