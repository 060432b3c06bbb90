// Makes the driver a cloud's config names. The drivers are loaded when first needed: the AWS SDK
// alone takes a second to load, which a step for a directory cloud should not pay.
import type { CloudConfig } from '../../config/schema.ts';
import type { CloudDriver } from './cloud-driver.ts';

export async function openCloud(name: string, config: CloudConfig, dataDir: string): Promise<CloudDriver> {
  switch (config.driver) {
    case 'glance':
      return new (await import('./glance.ts')).GlanceCloud(name, config);
    case 'ec2':
      return new (await import('./ec2.ts')).Ec2Cloud(name, config);
    case 'directory':
      return new (await import('./directory.ts')).DirectoryCloud(name, config, dataDir);
  }
}
