// The clients of one EC2-API cloud (EC2 and S3, same credentials and timeouts; S3 may have its own
// endpoint) and the one way their calls fail: a CloudError that names the cloud, what vmops was doing
// and what the cloud said, transient for no answer, 5xx and 429.
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import type { CloudConfig } from '../../config/schema.ts';
import { CloudError } from './cloud-driver.ts';

export type Ec2Config = Extract<CloudConfig, { driver: 'ec2' }>;

export interface Ec2Session {
  /** The cloud's name in config. */
  name: string;
  config: Ec2Config;
  ec2: EC2Client;
  s3: S3Client;
  /** Runs one SDK call; a failure becomes a CloudError naming the cloud and what the cloud said. */
  call<T>(doing: string, run: () => Promise<T>): Promise<T>;
}

export function openEc2Session(name: string, config: Ec2Config): Ec2Session {
  const credentials = {
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    ...(config.sessionToken === undefined ? {} : { sessionToken: config.sessionToken }),
  };
  const requestHandler = {
    requestTimeout: config.timeout,
    connectionTimeout: Math.min(config.timeout, 10_000),
  };
  const ec2 = new EC2Client({
    region: config.region,
    credentials,
    requestHandler,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
  });
  const s3Endpoint = config.s3Endpoint ?? config.endpoint;
  const s3 = new S3Client({
    region: config.region,
    credentials,
    requestHandler,
    forcePathStyle: config.forcePathStyle,
    ...(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint }),
  });
  return { name, config, ec2, s3, call: (doing, run) => callCloud(name, doing, run) };
}

async function callCloud<T>(name: string, doing: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CloudError) throw error;
    const e = error as Error & { $metadata?: { httpStatusCode?: number }; code?: string; $fault?: string };
    const status = e.$metadata?.httpStatusCode;
    const what =
      status === undefined
        ? `did not answer: ${e.code ?? e.name}${e.message && e.message !== e.name ? ` (${e.message})` : ''}`
        : `HTTP ${status} ${e.name}${e.message && e.message !== e.name ? `: ${e.message.slice(0, 200)}` : ''}`;
    const credentials = status === 401 || status === 403 ? ' (are the credentials right?)' : '';
    throw new CloudError(name, `could not ${doing}: ${what}${credentials}`, {
      ...(status === undefined ? {} : { status }),
      transient: status === undefined || status >= 500 || status === 429,
      cause: error,
    });
  }
}
