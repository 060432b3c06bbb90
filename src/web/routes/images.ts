// The images page: each product's latest versions with their formats, states and deployments.
import { imagesBody } from '../pages/images.ts';
import type { RouteContext } from './route-context.ts';

export function registerImageRoutes({ app, config, core, guard }: RouteContext): void {
  app.get(
    '/images',
    guard.guarded('images', async (viewer, _request, reply) => {
      const products = await Promise.all(
        Object.keys(config.products).map(async (product) => {
          const versions = (await core.catalog.versions(product)).slice(0, 20);
          return {
            product,
            versions: await Promise.all(
              versions.map(async (version) => ({
                ...(await core.catalog.version(product, version)),
                deployments: (await core.catalog.deployments?.(product, version)) ?? [],
              })),
            ),
          };
        }),
      );
      return guard.page(reply, viewer, 'Images', '/images', imagesBody(products));
    }),
  );
}
