import type { EventBus } from '../engine/events.js';
import type { ImageService } from '../images/image-service.js';
import { Router } from './router.js';
import { imageRoutes, imageSummary, imageTransferRoutes, type ImageRoutesDeps } from './routes/images.js';
import { systemRoutes } from './routes/system.js';

export interface ApiDeps {
  engineId: string;
  dataRoot: string;
  images: ImageService;
  events: EventBus;
}

/** All Docker API routes, bound to the engine's services. */
export function buildRouter(deps: ApiDeps): Router {
  const router = new Router();
  const imageDeps: ImageRoutesDeps = { images: deps.images, containersUsing: () => 0 };
  systemRoutes(router, {
    ...deps,
    containerCounts: () => ({ total: 0, running: 0, paused: 0, stopped: 0 }),
    imageSummaries: (apiVersion) => Promise.all(deps.images.list().map((img) => imageSummary(imageDeps, img, apiVersion, true))),
  });
  // Transfer routes first: `/images/{name}/push` must not be taken for an image named `x/push`.
  imageTransferRoutes(router, deps.images);
  imageRoutes(router, imageDeps);
  return router;
}
