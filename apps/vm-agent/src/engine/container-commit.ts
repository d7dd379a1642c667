/**
 * `docker commit`: a new image whose layers are the container's image's
 * plus one made from the container's upper dir, and whose config is the
 * container's (Cmd, Env, WorkingDir...), with history and parent recorded.
 */
import type { ImageConfigBody } from '../images/image-commit.js';
import type { ImageService } from '../images/image-service.js';
import { packLayer } from '../images/layer-pack.js';
import { familiarString, parseNormalizedNamed, withDefaultTag } from '../images/reference.js';
import { runtimeMountPoints } from './container-diff.js';
import type { ContainerRecord } from './container-types.js';

export interface CommitOptions {
  /** "repo" or "repo:tag"; untagged when absent. */
  reference?: string;
  comment?: string;
  author?: string;
  /**
   * `--change`: rewrites the run config before it is stored. The api layer
   * builds it from the Dockerfile instructions (engine knows nothing of build).
   */
  changeConfig?: (config: ImageConfigBody['config']) => ImageConfigBody['config'];
}

export async function commitContainer(images: ImageService, rec: ContainerRecord, upperDir: string, opts: CommitOptions): Promise<string> {
  const named = opts.reference ? withDefaultTag(parseNormalizedNamed(opts.reference)) : undefined; // a 400 before any work
  const parent = images.resolve(rec.Image);
  const { rootfs: _r, ...parentConfig } = await images.config(parent.id);
  const created = new Date().toISOString();
  const { Hostname: _h, Domainname: _d, ...runConfig } = rec.Config;
  const image = await images.commit({
    parent,
    layer: packLayer(upperDir, { skip: await runtimeMountPoints(upperDir, images.layerDirs(parent)) }),
    config: {
      ...parentConfig,
      created,
      ...(opts.author ? { author: opts.author } : {}),
      ...(opts.comment ? { comment: opts.comment } : {}),
      container: rec.Id,
      // The container's config as dockerd writes it; ExposedPorts values are `{}` either way.
      config: (opts.changeConfig ?? ((c) => c))({ ...runConfig, Image: parent.id, Hostname: '', Domainname: '' } as ImageConfigBody['config']),
      history: [
        ...(parentConfig.history ?? []),
        {
          created,
          created_by: [rec.Path, ...rec.Args].join(' '),
          ...(opts.author ? { author: opts.author } : {}),
          ...(opts.comment ? { comment: opts.comment } : {}),
        },
      ],
    },
  });
  if (named) {
    await images.ctx.images.setRef(named, image.id);
    images.ctx.emit({ Action: 'tag', id: image.id, attributes: { name: familiarString(named) } });
  }
  return image.id;
}
