/**
 * The classic builder: runs a parsed Dockerfile stage by stage, each step
 * making a new (untagged) image from the previous one, as dockerd's
 * non-BuildKit builder does, and prints what the docker CLI expects
 * (`Step 2/5 : RUN make`, ` ---> Running in 1a2b3c4d5e6f`, ` ---> Using cache`,
 * `Successfully built ...`).
 *
 * - RUN creates a container from the current image (Entrypoint cleared, the
 *   stage's env, ARG values, workdir and user), streams its output, and on
 *   exit 0 packs the container's upper dir into a layer (run-step.ts). The
 *   container is removed as --rm/--force-rm say.
 * - COPY/ADD and WORKDIR mount an overlay of the current image's layers in a
 *   private directory, change it, and pack the upper dir (filesystem-steps.ts).
 * - Every other instruction changes the config only (an `empty_layer` history
 *   entry; build-run.ts, metadata-rules.ts).
 * - The cache (build-cache.ts) maps (parent image, step as run, file hashes)
 *   to the image made; `--no-cache` skips lookups but still records.
 * - Tags are set only once the target stage finished: a failed build leaves
 *   no name pointing at a half-built image. Its intermediate images stay,
 *   untagged, as cache (dockerd keeps them too).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseNormalizedNamed, withDefaultTag } from '../images/reference.js';
import { BuildCache } from './build-cache.js';
import { BuildRun } from './build-run.js';
import type { BuilderDeps, BuildOptions, BuildSink } from './build-stages.js';
import { receiveContext } from './context.js';

export type { BuilderDeps, BuildOptions, BuildSink } from './build-stages.js';

export class Builder {
  readonly cache: BuildCache;
  private readonly workRoot: string;

  constructor(private readonly deps: BuilderDeps) {
    this.cache = new BuildCache(join(deps.root, 'cache.json'), (id) => deps.images.ctx.images.get(id) !== undefined);
    this.workRoot = join(deps.root, 'tmp');
  }

  async init(): Promise<void> {
    await rm(this.workRoot, { recursive: true, force: true }); // what a crash left mid-build
    await this.cache.load();
  }

  /** Runs a build from a context tar; resolves with the image ID, or rejects (the sink has the output so far). */
  async build(contextTar: Readable, opts: BuildOptions, sink: BuildSink): Promise<string> {
    const tags = opts.tags.map((t) => withDefaultTag(parseNormalizedNamed(t))); // a 400 before any work
    const ctx = await receiveContext(contextTar, this.workRoot, opts.dockerfile);
    try {
      return await new BuildRun(this.deps, this.cache, this.workRoot, ctx, opts, sink).run(tags);
    } finally {
      await ctx.dispose();
    }
  }
}
