// Clouds: where published images are deployed. Each names its driver (directory, glance, ec2).
import { z } from 'zod';
import { duration, name } from './primitives.ts';

// ── clouds ─────────────────────────────────────────────────────────────────────────────────────
// A cloud names its driver, the format it takes, its endpoint and its secrets (write ${ENV_VAR}).
// Secrets reach only the driver: the cloud step's own environment, never a log line or another step.

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be a URL like https://glance.example.org:9292')
  .transform((url) => url.replace(/\/+$/, ''));

/** A required key of a cloud: leaving it out says what it is for. */
const needed = (what: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? `is required: ${what}` : undefined),
});
const secret = (what: string) => z.string(needed(what)).min(1, 'is empty (is the environment variable set?)');

const cloudCommon = {
  description: z.string().default(''),
  tags: z.array(name).default([]),
  /** A cloud-init user-data template (a file, relative to the working directory): #cloud-config YAML with {{product}}, {{version}}, {{revision}}, {{cloud}}, {{job}} and --context values. */
  userData: z.string().min(1).optional(),
};

const directoryCloud = z
  .object({
    driver: z.literal('directory'),
    ...cloudCommon,
    /** Where deployed images go (relative to the data directory; default clouds/<name>). */
    path: z.string().optional(),
    /** The one format the cloud takes; default every published format. */
    format: name.optional(),
  })
  .strict();

/** Keystone v3 password authentication, for a Glance behind Keystone. */
const keystoneSchema = z
  .object({
    /** Keystone's v3 API, e.g. https://keystone.example.org:5000/v3. */
    authUrl: httpUrl,
    username: z.string().min(1, 'is empty (is the environment variable set?)'),
    password: z.string().min(1, 'is empty (is the environment variable set?)'),
    project: z.string().min(1),
    userDomain: z.string().min(1).default('Default'),
    projectDomain: z.string().min(1).default('Default'),
  })
  .strict();

const glanceCloud = z
  .object({
    driver: z.literal('glance'),
    ...cloudCommon,
    /** The format the cloud takes (kvm for qcow2, xen for raw, …). */
    format: z.string(needed('the format the cloud takes, e.g. kvm')).pipe(name),
    /** Glance's image API, e.g. https://glance.example.org:9292 (without /v2). */
    endpoint: z.string(needed("Glance's URL, e.g. https://glance.example.org:9292")).pipe(httpUrl),
    /** A Keystone token (X-Auth-Token), e.g. ${OS_TOKEN}; or `keystone` to log in; or neither (noauth Glance). */
    token: z.string().min(1, 'is empty (is the environment variable set?)').optional(),
    keystone: keystoneSchema.optional(),
    /** private, shared, community or public (public needs the publicize_image right). */
    visibility: z.enum(['private', 'shared', 'community', 'public']).default('shared'),
    /** Extra image properties (os_distro, hw_disk_bus, …). */
    properties: z.record(z.string().regex(/^[a-z][a-z0-9_:.-]{0,79}$/), z.string()).default({}),
    /** A request that does not answer within this long fails (uploads: no byte for this long). */
    timeout: duration.default(60_000),
  })
  .strict()
  .refine((c) => !(c.token !== undefined && c.keystone !== undefined), {
    message: 'give token or keystone, not both',
    path: ['keystone'],
  });

const ec2Cloud = z
  .object({
    driver: z.literal('ec2'),
    ...cloudCommon,
    /** The format uploaded to S3 (ec2 or xen for raw, vmware for a streamOptimized VMDK). */
    format: z.string(needed('the format uploaded, e.g. ec2')).pipe(name),
    region: z
      .string(needed('the region, e.g. eu-west-1'))
      .regex(/^[a-z0-9-]{2,40}$/, 'must be a region name like eu-west-1'),
    /** EC2 API endpoint of a non-AWS cloud (or a test server); unset: AWS. */
    endpoint: httpUrl.optional(),
    /** S3 endpoint; default `endpoint`. */
    s3Endpoint: httpUrl.optional(),
    /** Bucket the image files go to (created when missing). */
    bucket: z
      .string(needed('the S3 bucket the image files go to'))
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
    /** Path-style S3 URLs (http://host/bucket/key), which most non-AWS clouds need. */
    forcePathStyle: z.boolean().default(false),
    accessKeyId: secret('the access key id (write it as a reference to an environment variable)'),
    secretAccessKey: secret('the secret access key (write it as a reference to an environment variable)'),
    sessionToken: z.string().min(1).optional(),
    /**
     * How the AMI's disk is made: `import` (ImportSnapshot from the S3 object; AWS and clouds that have
     * it) or `volume` (an empty volume's snapshot, the bytes staying in S3: for EC2-API clouds without
     * ImportSnapshot, such as test servers).
     */
    snapshot: z.enum(['import', 'volume']).default('import'),
    architecture: z.enum(['x86_64', 'arm64']).default('x86_64'),
    /** Instance type for `deploy … --launch N`. */
    instanceType: z.string().min(1).default('t3.micro'),
    timeout: duration.default(60_000),
  })
  .strict();

const cloudDrivers = z.discriminatedUnion('driver', [directoryCloud, glanceCloud, ec2Cloud], {
  error: (issue) => (issue.code === 'invalid_union' ? 'driver must be directory, glance or ec2' : undefined),
});

/** `type` is the older name of `driver`; a cloud without either is a directory. */
export const cloudSchema = z.preprocess((value) => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const { type, ...rest } = value as Record<string, unknown>;
  return { driver: type ?? 'directory', ...rest };
}, cloudDrivers);

export type CloudConfig = z.output<typeof cloudDrivers>;
