// The schema of vmops configuration files (YAML). `src/config-load.ts` reads a file, substitutes
// ${ENV} references, and validates it here; any mismatch stops start-up with the file, the key and
// what is wrong. Durations are written like `90s`, `10m`, `2h`.
import { CronExpressionParser } from 'cron-parser';
import ms from 'ms';
import { z } from 'zod';

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be lower-case letters, digits, - or _, starting with a letter');

const duration = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value * 1000;
  const parsed = ms(value as ms.StringValue);
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (write 30s, 10m, 2h)` });
    return z.NEVER;
  }
  return parsed;
});

/** A Redis node: `host:port` (`[::1]:6379` for IPv6) or `{ host, port }`. */
const redisNode = z.union(
  [
    z
      .string()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be host:port, like redis-1.example.org:26379')
      .transform((value) => {
        const at = value.lastIndexOf(':');
        return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(value.slice(at + 1)) };
      }),
    z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict(),
  ],
  { error: 'must be host:port, like redis-1.example.org:26379, or { host, port }' },
);

/** A prefix whose keys share one Cluster slot: it has a non-empty hash tag, `{vmops}`. */
const HASH_TAGGED = /^[^{]*\{[^}]+\}/;

const redisSchema = z
  .object({
    /** redis:// URL. Empty: local mode starts a private redis-server. VMOPS_REDIS_URL overrides. */
    url: z.string().optional(),
    /** A primary with replicas, watched by Redis Sentinel: vmops follows failovers. */
    sentinel: z
      .object({
        /** The primary's name in the sentinels' configuration (`sentinel monitor <name> …`). */
        name: z.string().min(1),
        /** Some or all of the sentinels. */
        sentinels: z.array(redisNode).min(1),
        username: z.string().min(1).optional(),
        /** Password of the primary and replicas (`requirepass` / `masterauth`). */
        password: z.string().optional(),
        /** Password of the sentinels (`requirepass` in sentinel.conf), if they have one. */
        sentinelPassword: z.string().optional(),
        db: z.number().int().min(0).optional(),
        /** TLS to the sentinels and the Redis nodes. */
        tls: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** A Redis Cluster: some of its nodes (the rest are found from them). */
    cluster: z
      .object({
        nodes: z.array(redisNode).min(1),
        username: z.string().min(1).optional(),
        password: z.string().optional(),
        tls: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** Prefix of every key vmops writes (BullMQ's too); default vmops, or {vmops} on a Cluster. */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_{}.-]+$/)
      .optional(),
  })
  .strict()
  .superRefine((redis, ctx) => {
    const given = (['url', 'sentinel', 'cluster'] as const).filter((key) => redis[key] !== undefined);
    if (given.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [given[1] ?? 'url'],
        message: `give one of redis.url, redis.sentinel and redis.cluster, not ${given.join(' and ')}`,
      });
    }
    if (redis.cluster && redis.prefix !== undefined && !HASH_TAGGED.test(redis.prefix)) {
      ctx.addIssue({
        code: 'custom',
        path: ['prefix'],
        message: `"${redis.prefix}" has no hash tag: on a Cluster every key of a queue must be in one slot, so write it like {${redis.prefix.replace(/[{}]/g, '')}}`,
      });
    }
  })
  .transform(({ prefix, ...redis }) => ({
    ...redis,
    prefix: prefix ?? (redis.cluster ? '{vmops}' : 'vmops'),
  }))
  .prefault({});

const role = z.enum(['viewer', 'operator', 'approver', 'admin']);
const access = z.enum(['viewer', 'operator', 'approver', 'admin', 'known', 'anyone']);

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

const hostSchema = z
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
const packageSetSchema = z
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

const productSchema = z
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

const formatSchema = z
  .object({
    description: z.string().default(''),
    aliases: z.array(name).default([]),
  })
  .strict();

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
const cloudSchema = z.preprocess((value) => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const { type, ...rest } = value as Record<string, unknown>;
  return { driver: type ?? 'directory', ...rest };
}, cloudDrivers);

export type CloudConfig = z.output<typeof cloudDrivers>;

/** Five fields (minute hour day-of-month month day-of-week) or a nickname like @daily, checked by cron-parser. */
const cron = z.string().superRefine((value, ctx) => {
  const fields = value.trim().split(/\s+/).filter(Boolean);
  if (!(fields.length === 5 || (fields.length === 1 && fields[0]?.startsWith('@')))) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" has ${fields.length} field(s): write five (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`,
    });
    return;
  }
  try {
    CronExpressionParser.parse(value);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a cron expression: ${(error as Error).message}`,
    });
  }
});

const timezone = z.string().refine((value) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone, e.g. Europe/Zurich or UTC');

const scheduleSchema = z
  .object({
    /** When to run: a five-field cron expression, in `timezone` (default the bot's local time). */
    cron,
    timezone: timezone.optional(),
    /** What to build: a product from config, a version, and its formats (or [all]). */
    product: name,
    version: z.string().regex(/^\d+(\.\d+){1,3}$/, 'must be a version like 2.6 or 2.6.1'),
    formats: z.array(name).min(1),
    /** Stages to run, in order: tests run for the formats whose build succeeded. */
    stages: z
      .array(z.enum(['build', 'test']))
      .min(1)
      .default(['build', 'test']),
  })
  .strict();

const approvalsSchema = z
  .object({
    /** `revoke` always waits for an approval. */
    revoke: z.boolean().default(true),
    /** `deploy` to a cloud with one of these tags waits for an approval. */
    deployTags: z.array(name).default(['production']),
    /** `publish` of a version older than the newest one of its product waits for an approval. */
    publishOlder: z.boolean().default(true),
    /** Further commands that always wait for an approval, e.g. [update]. */
    always: z.array(name).default([]),
    /**
     * Who may approve: `approvers` (anyone with the approver role, and the person on call) or `oncall`
     * (only the person on call, and those a request was escalated to). Never the requester.
     */
    approvedBy: z.enum(['approvers', 'oncall']).default('approvers'),
    /** An unanswered request is cancelled after this long, and the room told. */
    expireAfter: duration.default(30 * 60_000),
    /** An unanswered request is sent on to the next approver after this long. */
    escalateAfter: duration.default(10 * 60_000),
  })
  .strict()
  .prefault({});

const weekday = z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']);

const oncallSchema = z
  .object({
    /** People on call in turn (person ids from `people`), each for `weeks` weeks. */
    rota: z.array(name).default([]),
    /** When one shift hands over to the next. */
    handover: z
      .object({
        day: weekday.default('monday'),
        time: z
          .string()
          .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time like 09:00')
          .default('09:00'),
      })
      .strict()
      .prefault({}),
    /** The time zone of the hand-over time. */
    timezone: timezone.default('UTC'),
    /** Length of a shift in weeks. */
    weeks: z.number().int().min(1).max(52).default(1),
    /** A date (YYYY-MM-DD) in the first shift of the first person of the rota; default 2026-01-05. */
    start: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2026-01-05')
      .default('2026-01-05'),
  })
  .strict()
  .prefault({});

const personSchema = z
  .object({
    /** Accounts by network: shell login, Slack user id, Matrix user id, XMPP bare JID. */
    accounts: z.record(name, z.string().min(1)).default({}),
    roles: z.array(role).default([]),
  })
  .strict();

export const configSchema = z
  .object({
    bot: z
      .object({
        /** The name people address the bot by: `vmops: …`, `@vmops …`. */
        name: name.default('vmops'),
        /** Where local state lives (private Redis data, job work directories). VMOPS_DATA_DIR overrides. */
        dataDir: z.string().default('./var'),
        /** Messages older than this when they arrive are ignored (history replays). */
        maxMessageAge: duration.default(120_000),
        /** Longest command accepted, in characters. */
        maxCommandLength: z.number().int().min(16).max(100_000).default(2000),
        /** How many commands one person (or guest account) may give per window; more are dropped with one reply. */
        throttle: z
          .object({
            commands: z.number().int().min(1).default(30),
            per: duration.default(60_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    redis: redisSchema,
    /** Product used when a command names none. */
    defaultProduct: name,
    products: z
      .record(name, productSchema)
      .refine((p) => Object.keys(p).length > 0, 'needs at least one product'),
    formats: z.record(name, formatSchema),
    clouds: z.record(name, cloudSchema).default({}),
    /** SSH build hosts that steps may run on (`steps[].host`). */
    hosts: z.record(name, hostSchema).default({}),
    people: z.record(name, personSchema).default({}),
    /** Continuous builds: name → when and what to build and test. */
    schedules: z.record(name, scheduleSchema).default({}),
    policy: z
      .object({
        /** Override who may run a command: `build: admin`. */
        commands: z.record(name, access).default({}),
        /** Which commands wait for an approval, who may give it, and for how long. */
        approvals: approvalsSchema,
      })
      .strict()
      .prefault({}),
    /** Who is on call to approve requests: a weekly rota (an admin may override it with `oncall set`). */
    oncall: oncallSchema,
    /** The audit trail: every command, decision and state change, chained by hash. */
    audit: z
      .object({
        /** A secret that makes each entry's hash an HMAC, so that only holders of the key can rewrite the chain. */
        key: z.string().min(16, 'must be at least 16 characters').optional(),
        /**
         * A signed checkpoint of the chain (its sequence number and head hash, with an HMAC) posted now and
         * then to the admins' rooms and the log, out of reach of whoever can write to Redis; `audit verify
         * <checkpoint>` checks the chain still holds it.
         */
        checkpoint: z
          .object({
            /** How often (one bot instance posts each; none when the chain did not move). */
            every: duration.default(60 * 60_000),
            /** The HMAC key (use ${ENV}); other than audit.key, so a checkpoint cannot be made from an entry's key. */
            key: z.string().min(16, 'must be at least 16 characters'),
            /** Rooms to post it in (`network` and `room` as the adapters name them); the log always gets it. */
            rooms: z
              .array(z.object({ network: z.string().min(1), room: z.string().min(1) }).strict())
              .default([]),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    /** The web console (src/web/): jobs live, the catalog, approvals, workers, the audit trail, the download area. */
    web: z
      .object({
        /** Serve the console from the bot process (local and bot mode). */
        enabled: z.boolean().default(true),
        /** Address to listen on; put a TLS proxy in front before listening beyond loopback. */
        host: z.string().min(1).default('127.0.0.1'),
        /** Port to listen on; 0 picks any free port. In local mode a busy port falls back to a free one. */
        port: z.number().int().min(0).max(65535).default(8080),
        /** The console's address as people reach it (https://vmops.example.org); login links and status messages use it. */
        publicUrl: z
          .string()
          .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be a URL like https://vmops.example.org')
          .transform((url) => url.replace(/\/+$/, ''))
          .optional(),
        /** How long a signed-in session lasts. */
        sessionTtl: duration.default(12 * 3600_000),
        /** How long a login link from `login` stays valid (it works once). */
        loginTtl: duration.default(10 * 60_000),
        /** Who may fetch the download area (<dataDir>/downloads): anyone, or signed-in people only. */
        downloads: z.enum(['public', 'signed-in']).default('public'),
        /** A bearer token /metrics requires (`Authorization: Bearer …`); unset, /metrics is open like /healthz. */
        metricsToken: z.string().min(16, 'must be at least 16 characters').optional(),
      })
      .strict()
      .prefault({}),
    jobs: z
      .object({
        /** Timeout of a step that sets none. */
        stepTimeout: duration.default(30 * 60_000),
        /** How many attempts a stage job gets when the worker dies under it. */
        attempts: z.number().int().min(1).max(10).default(1),
        /** How many finished jobs Redis keeps for `jobs`, `status` and `log`. */
        keepFinished: z.number().int().min(10).default(1000),
        /** Jobs one worker process runs at once. */
        concurrency: z.number().int().min(1).max(64).default(2),
        /** Guests the recipes may boot at once on the worker's host, across its jobs and workers (VMOPS_BOOT_SLOTS); unset: 1 under TCG, the CPU count with a working KVM. */
        bootSlots: z.number().int().min(1).max(64).optional(),
        /** Refuse a stage at once when no live worker can take it (instead of queueing it for later). */
        refuseWithoutWorker: z.boolean().default(true),
        /** A worker silent this long (killed, hung, cut off from Redis) loses its running jobs: they run again while attempts allow, else fail. */
        workerTimeout: duration.default(30_000),
      })
      .strict()
      .prefault({}),
    networks: z
      .object({
        shell: z
          .object({
            /** Shell account the terminal speaks as at start (`/as <name>` switches); default the OS login name. */
            as: z.string().min(1).optional(),
          })
          .strict()
          .optional(),
        /** XMPP: one account, multi-user chat rooms and direct messages. */
        xmpp: z
          .object({
            /** The bot's account, a bare JID: vmops@example.org. */
            jid: z
              .string()
              .regex(/^[^@/\s]+@[^@/\s]+$/, 'must be a bare JID like vmops@example.org (no /resource)'),
            /** Its password; write ${VMOPS_XMPP_PASSWORD} to take it from the environment. */
            password: z.string().min(1, 'is empty (is the environment variable set?)'),
            /** Where to connect: xmpp://host:5222 (STARTTLS when offered), xmpps://host:5223, wss://host/xmpp-websocket. Default xmpp://<JID domain>:5222. */
            service: z
              .string()
              .regex(/^(xmpps?|wss?):\/\/[^\s/]+/, 'must be a URL like xmpp://chat.example.org:5222')
              .optional(),
            /** The XMPP domain, when the service is given by address and the JID's domain is not the host. */
            domain: z.string().min(1).optional(),
            /** Resource to bind (default: the server picks one, so several bot instances can share the account). */
            resource: z.string().min(1).optional(),
            /** Nick in the rooms (default bot.name). */
            nick: z.string().min(1).max(64).optional(),
            /** Multi-user chat rooms to join, as room JIDs: ops@conference.example.org. */
            rooms: z
              .array(
                z.string().regex(/^[^@/\s]+@[^@/\s]+$/, 'must be a room JID like ops@conference.example.org'),
              )
              .default([]),
            /** Edit status messages in place with XEP-0308 corrections; false: a short new message per change of state. */
            corrections: z.boolean().default(true),
            /** Least time between two corrections of one status message. */
            minEditInterval: duration.default(2000),
            /** How often the bot checks (XEP-0410 self-ping) that it is still in each room. */
            selfPingInterval: duration.default(120_000),
            /** Longest message the bot sends; longer replies are cut with a pointer to `log <job>`. */
            maxMessageLength: z.number().int().min(200).max(200_000).default(10_000),
          })
          .strict()
          .optional(),
        /**
         * Slack: mentions, direct messages, the slash command and buttons, over Socket Mode (default, no public
         * URL) or the Events API over HTTP. Accounts under people.<name>.accounts.slack are Slack user ids:
         * `U0123ABCD` for members of the bot's workspace, `T0OTHER:U0456EFGH` for members of another
         * workspace in a shared channel.
         */
        slack: z
          .object({
            /** Bot token (xoxb-…); write ${VMOPS_SLACK_BOT_TOKEN} to take it from the environment. */
            token: z.string().min(1, 'is empty (is the environment variable set?)'),
            /** `socket`: Socket Mode, needs appToken; `http`: Slack posts to the bot's URL, needs signingSecret. */
            mode: z.enum(['socket', 'http']).default('socket'),
            /** App-level token (xapp-…) with the connections:write scope, for Socket Mode. */
            appToken: z.string().min(1, 'is empty (is the environment variable set?)').optional(),
            /** The app's signing secret, for HTTP mode: every request's signature is checked with it. */
            signingSecret: z.string().min(1, 'is empty (is the environment variable set?)').optional(),
            /** HTTP mode: where to listen for events, slash commands and interactivity (one path for all). */
            http: z
              .object({
                port: z.number().int().min(1).max(65535).default(3000),
                host: z.string().min(1).default('0.0.0.0'),
                path: z
                  .string()
                  .regex(/^\/\S*$/, 'must be a path like /slack/events')
                  .default('/slack/events'),
              })
              .strict()
              .prefault({}),
            /** The slash command as created in the app. */
            command: z
              .string()
              .regex(/^\/[a-z0-9_-]{1,31}$/, 'must be a slash command like /vmops')
              .default('/vmops'),
            /** Web API base URL (a proxy, or a local stand-in in tests). */
            apiUrl: z
              .string()
              .regex(/^https?:\/\/\S+\/$/, 'must be a URL ending in /')
              .optional(),
            /** Least time between two updates of one status message. */
            minEditInterval: duration.default(1000),
            /** chat.postMessage per channel (Slack allows about one a second, with short bursts). */
            postRate: z
              .object({
                perSecond: z.number().positive().default(1),
                burst: z.number().int().min(1).default(1),
              })
              .strict()
              .prefault({}),
            /** chat.update for the whole workspace (Tier 3: 50+ a minute). */
            updateRate: z
              .object({
                perSecond: z
                  .number()
                  .positive()
                  .default(50 / 60),
                burst: z.number().int().min(1).default(3),
              })
              .strict()
              .prefault({}),
            /** A finished job's details (a failure's log tail, a test report) go in its status message's thread. */
            threadDetails: z.boolean().default(true),
            /** Replies longer than this many characters are posted short, with the whole text as a file; 0: never. */
            uploadOver: z.number().int().min(0).default(3500),
            /** Longest message text the bot sends (Slack cuts text after 40,000 characters). */
            maxMessageLength: z.number().int().min(200).max(40_000).default(40_000),
          })
          .strict()
          .refine((s) => s.mode !== 'socket' || s.appToken !== undefined, {
            message: 'Socket Mode needs appToken (an xapp-… token with connections:write)',
            path: ['appToken'],
          })
          .refine((s) => s.mode !== 'http' || s.signingSecret !== undefined, {
            message: 'HTTP mode needs signingSecret',
            path: ['signingSecret'],
          })
          .optional(),
        /** Matrix: one account, the configured rooms, invites from people in config, and direct chats. */
        matrix: z
          .object({
            /** Base URL of the homeserver's client-server API, e.g. https://matrix.example.org. */
            homeserver: z
              .string()
              .regex(/^https?:\/\/[^\s/]+/, 'must be a URL like https://matrix.example.org'),
            /** The bot's user id: @vmops:example.org. */
            userId: z.string().regex(/^@[^:\s]+:\S+$/, 'must be a Matrix user id like @vmops:example.org'),
            /** Access token of the bot's device; write ${VMOPS_MATRIX_TOKEN} to take it from the environment. */
            accessToken: z.string().min(1, 'is empty (is the environment variable set?)').optional(),
            /** Or a password: the bot logs in once and keeps its access token and device id in Redis. */
            password: z.string().min(1, 'is empty (is the environment variable set?)').optional(),
            /** Device id to log in as (with password), so the bot stays one device. */
            deviceId: z.string().min(1).optional(),
            /** Rooms to join at start: room ids (!abc:example.org) or aliases (#ops:example.org). */
            rooms: z
              .array(
                z.string().regex(/^[!#][^:\s]+:\S+$/, 'must be a room id or alias like #ops:example.org'),
              )
              .default([]),
            /** Invites to these rooms are accepted from anyone; other invites only from people in config. */
            inviteRooms: z
              .array(
                z.string().regex(/^[!#][^:\s]+:\S+$/, 'must be a room id or alias like #ops:example.org'),
              )
              .default([]),
            /** Least time between two edits of one status message. */
            minEditInterval: duration.default(3000),
            /** The homeserver's message rate limit for the bot (Synapse rc_message; default 0.2/s, burst 10). */
            rateLimit: z
              .object({
                perSecond: z.number().positive().default(0.2),
                burst: z.number().int().min(1).default(10),
              })
              .strict()
              .prefault({}),
            /** Longest message the bot sends (an edit carries the text four times, events are at most 64 KiB). */
            maxMessageLength: z.number().int().min(200).max(12_000).default(8000),
          })
          .strict()
          .refine(
            (m) => m.accessToken !== undefined || m.password !== undefined,
            'needs accessToken or password',
          )
          .optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
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
  });

/** A validated configuration, with defaults filled in and durations in milliseconds. */
export type Config = z.output<typeof configSchema>;
export type StepConfig = z.output<typeof stepSchema>;
export type HostConfig = z.output<typeof hostSchema>;
export type PackageSetConfig = z.output<typeof packageSetSchema>;
export type ProductConfig = z.output<typeof productSchema>;
export type ScheduleConfig = z.output<typeof scheduleSchema>;
