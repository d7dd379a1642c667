/**
 * A container's filesystem: `docker diff`, `docker commit`, `docker cp`
 * (archive HEAD/GET/PUT with the X-Docker-Container-Path-Stat header).
 */
import { finished } from 'node:stream/promises';
import { containerChanges } from '../../engine/container-diff.js';
import { extractIntoRoot, statInRoot, tarFromRoot } from '../../engine/container-archive.js';
import { applyCommitChanges } from '../../build/commit-changes.js';
import type { RunConfig } from '../../build/config-rules.js';
import { commitContainer } from '../../engine/container-commit.js';
import type { ContainerService } from '../../engine/containers.js';
import { rootfsPaths } from '../../engine/rootfs.js';
import { invalidParameter } from '../../errors.js';
import { queryBool, sendJson } from '../http-io.js';
import type { RequestContext, Router } from '../router.js';

function archivePathParam(query: URLSearchParams): string {
  const path = query.get('path');
  if (!path) throw invalidParameter('path is required: the path of the file or directory in the container');
  return path;
}

export function containerFsRoutes(r: Router, svc: ContainerService): void {
  r.get('/containers/{id}/changes', async ({ res, params }) => {
    const rec = svc.get(params.id!);
    const upper = rootfsPaths(svc.store.dir(rec.Id)).upper;
    const changes = await containerChanges(upper, svc.images.layerDirs(svc.images.resolve(rec.Image)));
    sendJson(res, 200, changes.length ? changes : null);
  });

  r.post('/commit', async ({ res, query }) => {
    const term = query.get('container');
    if (!term) throw invalidParameter('container is required: the container to commit');
    const changes = query.getAll('changes').filter((c) => c.trim() !== '');
    // Parsed before any work, so a bad change is a 400 that leaves nothing behind.
    if (changes.length) applyCommitChanges({}, changes);
    const rec = svc.get(term);
    const repo = query.get('repo');
    const tag = query.get('tag');
    const commit = () =>
      commitContainer(svc.images, rec, rootfsPaths(svc.store.dir(rec.Id)).upper, {
        reference: repo ? (tag ? `${repo}:${tag}` : repo) : undefined,
        comment: query.get('comment') ?? undefined,
        author: query.get('author') ?? undefined,
        changeConfig: changes.length ? (config) => applyCommitChanges(config as RunConfig, changes) as typeof config : undefined,
      });
    // The upper dir must hold still while it is packed: a running container is frozen (unless pause=0).
    const id = await (queryBool(query, 'pause', true) ? svc.holdStill(rec, commit) : commit());
    svc.emit(rec, 'commit', { comment: query.get('comment') ?? '' });
    sendJson(res, 201, { Id: id });
  });

  const stat = async ({ res, params, query }: RequestContext, withBody: boolean) => {
    const rec = svc.get(params.id!);
    const path = archivePathParam(query);
    await svc.withRootfs(rec, async (root) => {
      const st = await statInRoot(root, path, params.id!);
      const header = Buffer.from(JSON.stringify(st)).toString('base64');
      if (!withBody) {
        res.writeHead(200, { 'X-Docker-Container-Path-Stat': header }).end();
        return;
      }
      const body = await tarFromRoot(root, path, params.id!);
      res.writeHead(200, { 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': header });
      body.on('error', (err) => res.destroy(err));
      body.pipe(res);
      await finished(res).catch(() => {});
    });
  };
  r.head('/containers/{id}/archive', (ctx) => stat(ctx, false));
  r.get('/containers/{id}/archive', (ctx) => stat(ctx, true));

  r.put('/containers/{id}/archive', async ({ req, res, params, query }) => {
    const rec = svc.get(params.id!);
    const path = archivePathParam(query);
    await svc.withRootfs(rec, (root) =>
      extractIntoRoot(root, path, req, { noOverwriteDirNonDir: queryBool(query, 'noOverwriteDirNonDir'), containerName: params.id! }),
    );
    res.writeHead(200).end();
  });
}
