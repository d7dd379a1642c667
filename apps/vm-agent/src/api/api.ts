import type { Builder } from '../build/builder.js';
import type { ContainerService } from '../engine/containers.js';
import type { EventBus } from '../engine/events.js';
import type { ExecService } from '../engine/exec-service.js';
import type { HealthMonitor } from '../engine/health-monitor.js';
import type { ImageService } from '../images/image-service.js';
import type { NetworkService } from '../network/network-service.js';
import { Router } from './router.js';
import { imageRoutes, imageSummary, imageTransferRoutes, type ImageRoutesDeps } from './routes/images.js';
import { systemRoutes } from './routes/system.js';
import { containerRoutes } from './routes/containers.js';
import { containerIoRoutes } from './routes/container-io-routes.js';
import { networkRoutes } from './routes/networks.js';
import { containerFsRoutes } from './routes/container-fs-routes.js';
import { containerSizes, containerSummary } from './routes/container-views.js';
import { buildRoutes } from './routes/build.js';
import { containerStatsRoutes } from './routes/container-stats.js';
import { volumeRoutes, volumeUsage } from './routes/volumes.js';
import { swarmRoutes } from './routes/swarm.js';
import { pluginRoutes } from './routes/plugins.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { HostControls } from '../network/host-controls.js';
import { hostControlRoutes } from './routes/host-controls.js';

export interface ApiDeps {
  engineId: string;
  dataRoot: string;
  images: ImageService;
  events: EventBus;
  containers: ContainerService;
  networks: NetworkService;
  execs: ExecService;
  volumes: VolumeService;
  /** Health checks; absent, inspect shows no State.Health. */
  health?: HealthMonitor;
  /** Image builds (POST /build); absent, the route is not served. */
  builder?: Builder;
  /** In a VM: the host's ports nothing inside may dial; absent, /berth/host-controls answers 404. */
  hostControls?: HostControls;
}

/** All Docker API routes, bound to the engine's services. */
export function buildRouter(deps: ApiDeps): Router {
  const router = new Router();
  const imageDeps: ImageRoutesDeps = {
    images: deps.images,
    containersUsing: (id) => {
      const u = deps.containers.usage(id);
      return u.running.length + u.stopped.length;
    },
  };
  systemRoutes(router, {
    ...deps,
    containerCounts: () => deps.containers.counts(),
    volumeSummaries: () => volumeUsage(deps.volumes),
    containerSummaries: () =>
      Promise.all(deps.containers.list().map(async (c) => ({ ...containerSummary(c, deps.containers), ...(await containerSizes(deps.containers, c)) }))),
    imageSummaries: (apiVersion) => Promise.all(deps.images.list().map((img) => imageSummary(imageDeps, img, apiVersion, true))),
  });
  // Transfer routes first: `/images/{name}/push` must not be taken for an image named `x/push`.
  imageTransferRoutes(router, deps.images);
  imageRoutes(router, imageDeps);
  containerRoutes(router, { containers: deps.containers, execIds: (id) => deps.execs.idsOf(id), health: (id) => deps.health?.of(id) });
  containerIoRoutes(router, deps.containers, deps.execs);
  networkRoutes(router, {
    networks: deps.networks,
    findContainer: (ref) => {
      const c = deps.containers.get(ref);
      return { id: c.Id, pid: c.State.Status === 'running' || c.State.Status === 'paused' ? c.State.Pid : 0 };
    },
  });
  containerFsRoutes(router, deps.containers);
  if (deps.builder) buildRoutes(router, deps.builder);
  containerStatsRoutes(router, deps.containers);
  volumeRoutes(router, deps.volumes);
  swarmRoutes(router);
  pluginRoutes(router);
  hostControlRoutes(router, deps.hostControls);
  return router;
}
