/**
 * The classic builder: runs a parsed Dockerfile stage by stage, each step
 * making a new (untagged) image from the previous one, as dockerd's
 * non-BuildKit builder does, and prints what the docker CLI expects
 * (`Step 2/5 : RUN make`, ` ---> Running in 1a2b3c4d5e6f`, ` ---> Using cache`,
 * `Successfully built ...`).
 *
 * - RUN creates a container from the current image (Entrypoint cleared, the
 *   stage's env, ARG values, workdir and user), streams its output, and on
 *   exit 0 packs the container's upper dir into a layer. The container is
 *   removed whatever happened.
 * - COPY/ADD and WORKDIR mount an overlay of the current image's layers in a
 *   private directory, change it, and pack the upper dir.
 * - Every other instruction changes the config only (an `empty_layer` history
 *   entry).
 * - The cache (build-cache.ts) maps (parent image, step as run, file hashes)
 *   to the image made; `--no-cache` skips lookups but still records.
 * - Tags are set only once the target stage finished: a failed build leaves
 *   no name pointing at a half-built image. Its intermediate images stay,
 *   untagged, as cache (dockerd keeps them too).
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { EngineError, errorMessage, invalidParameter, isEngineError } from '../errors.js';
import { INIT_PATHS } from '../engine/container-diff.js';
import { resolveUser } from '../engine/container-user.js';
import type { ContainerService } from '../engine/containers.js';
import { mountRootfs, rootfsPaths, unmountRootfs } from '../engine/rootfs.js';
import type { ImageService } from '../images/image-service.js';
import type { ImageRecord } from '../images/image-store.js';
import { packLayer } from '../images/layer-pack.js';
import type { ImageConfigBody } from '../images/image-commit.js';
import { enginePlatform } from '../images/manifest.js';
import { familiarString, parseNormalizedNamed, withDefaultTag, type Reference } from '../images/reference.js';
import type { RegistryCredentials } from '../images/registry-client.js';
import { BuildCache } from './build-cache.js';
import { DEFAULT_SHELL, nopCreatedBy, splitOwner, type RunConfig } from './config-rules.js';
import { applyMetadata } from './metadata-rules.js';
import { receiveContext, type BuildContext } from './context.js';
import { copyInto, makeDirIn, resolveSources, sourcesDigest, type Owner } from './copy.js';
import { parseDockerfile, parseInstruction, type Instruction } from './dockerfile-parser.js';
import { envLookup, expandWord, type Lookup } from './shell-words.js';

export interface BuildOptions {
  /** `-t`, each `name[:tag]`. */
  tags: string[];
  /** `-f`, relative to the context root; '' for the default. */
  dockerfile: string;
  buildArgs: Record<string, string | null>;
  target?: string;
  noCache: boolean;
  labels: Record<string, string>;
  /** `-q`: only the image ID is printed. */
  quiet: boolean;
  /** `--pull`: pull every FROM image named by reference, even when one is here. */
  pull?: boolean;
  /** RUN steps' containers: their HostConfig (--add-host, --network, limits) and when they are removed. */
  run?: { hostConfig: Record<string, unknown>; remove: 'always' | 'on-success' | 'never' };
  /** Credentials for pulling a base image from a registry (by its domain). */
  credentials: (domain: string) => RegistryCredentials | undefined;
  signal?: AbortSignal;
}

/** One JSON message of the build stream: `{stream}`, `{aux}`, or pull progress. */
export type BuildSink = (message: Record<string, unknown>) => void;

export interface BuilderDeps {
  images: ImageService;
  containers: ContainerService;
  /** `<data-root>/build`: contexts, mounts and the cache file live here. */
  root: string;
}


interface Stage {
  name: string | undefined;
  index: number;
  instructions: Instruction[];
}

interface StageState {
  image: ImageRecord | undefined;
  config: ImageConfigBody;
  /** ARGs declared in this stage, with their values (undefined: declared without one). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
}

const STEP_FLAGS_IGNORED = ['link', 'parents', 'exclude', 'checksum', 'keep-git-dir'];

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

class BuildRun {
  private readonly images: ImageService;
  private readonly say: (text: string) => void;
  private step = 0;
  private total = 0;
  private escape = '\\';
  private readonly globalArgs = new Map<string, string | undefined>();
  private readonly usedBuildArgs = new Set<string>();
  private readonly stageImages: { name: string | undefined; image: ImageRecord | undefined; config: ImageConfigBody }[] = [];

  constructor(
    private readonly deps: BuilderDeps,
    private readonly cache: BuildCache,
    private readonly workRoot: string,
    private readonly ctx: BuildContext,
    private readonly opts: BuildOptions,
    private readonly sink: BuildSink,
  ) {
    this.images = deps.images;
    this.say = (text) => {
      if (!opts.quiet) sink({ stream: text });
    };
  }

  async run(tags: Reference[]): Promise<string> {
    const df = parseDockerfile(this.ctx.dockerfile);
    this.escape = df.escape;
    for (const w of df.warnings) this.say(`${w}\n`);
    const { meta, stages } = splitStages(df.instructions);
    let last = stages.length - 1;
    if (this.opts.target) {
      last = stages.findIndex((s) => s.name === this.opts.target!.toLowerCase());
      if (last < 0) throw invalidParameter(`failed to reach build target ${this.opts.target} in Dockerfile`);
    }
    const chosen = stages.slice(0, last + 1);
    if (Object.keys(this.opts.labels).length > 0) {
      // `--label` becomes a last LABEL step of the target stage, as in dockerd.
      const pairs = Object.entries(this.opts.labels).map(([k, v]) => [JSON.stringify(k), JSON.stringify(v)] as const);
      const original = `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
      chosen[last]!.instructions.push({ cmd: 'label', original, line: 0, flags: {}, args: pairs.flat(), json: false });
    }
    this.total = meta.length + chosen.reduce((n, s) => n + s.instructions.length, 0);

    for (const ins of meta) {
      this.stepLine(ins);
      for (const w of ins.args) {
        const { name, value } = this.argWord(w, (n) => this.globalValue(n));
        this.globalArgs.set(name, value);
      }
    }
    for (const stage of chosen) {
      this.checkAborted();
      await this.runStage(stage);
    }
    const final = this.stageImages[last]!;
    const image = final.image ?? (await this.images.commit({ parent: undefined, config: final.config }));

    const unused = Object.keys(this.opts.buildArgs).filter((k) => !this.usedBuildArgs.has(k) && !PREDEFINED_ARGS.includes(k));
    if (unused.length) this.say(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    this.sink({ aux: { ID: image.id } });
    this.say(`Successfully built ${short(image.id)}\n`);
    for (const t of tags) {
      await this.images.ctx.images.setRef(t, image.id);
      this.images.ctx.emit({ Action: 'tag', id: image.id, attributes: { name: familiarString(t) } });
      this.say(`Successfully tagged ${familiarString(t)}\n`);
    }
    if (this.opts.quiet) this.sink({ stream: `${image.id}\n` });
    return image.id;
  }

  private stepLine(ins: Instruction): void {
    this.step++;
    this.say(`Step ${this.step}/${this.total} : ${ins.original}\n`);
  }

  private checkAborted(): void {
    if (this.opts.signal?.aborted) throw invalidParameter('the build was canceled: the client went away');
  }

  // ---- stages -------------------------------------------------------------

  private async runStage(stage: Stage): Promise<void> {
    const [from, ...rest] = stage.instructions;
    const st = await this.from(from!);
    for (const ins of rest) {
      this.checkAborted();
      this.stepLine(ins);
      await this.dispatch(st, ins);
    }
    this.stageImages.push({ name: stage.name, image: st.image, config: st.config });
  }

  private async from(ins: Instruction): Promise<StageState> {
    this.stepLine(ins);
    if (ins.flags.platform !== undefined) this.say(` ---> [Warning] FROM --platform=${ins.flags.platform} is ignored: this engine builds for its own platform\n`);
    const name = await this.wrap(ins, () => expandWord(ins.args[0]!, (n) => this.globalValue(n), this.escape));
    const st: StageState = { image: undefined, config: scratchConfig(), args: new Map(), cmdSet: false };
    if (name.toLowerCase() === 'scratch') return st;
    const earlier = [...this.stageImages].reverse().find((s) => s.name !== undefined && s.name === name.toLowerCase());
    if (earlier) {
      st.image = earlier.image;
      st.config = structuredClone(earlier.config);
    } else {
      st.image = await this.wrap(ins, () => this.baseImage(name));
      const { rootfs: _r, ...config } = await this.images.config(st.image.id);
      st.config = config;
    }
    if (st.image) this.say(` ---> ${short(st.image.id)}\n`);
    const triggers = this.rc(st).OnBuild ?? [];
    if (triggers.length) {
      this.say(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      st.config = { ...st.config, config: { ...this.rc(st), OnBuild: null } };
      for (const t of triggers) await this.dispatch(st, { ...parseInstruction(t, ins.line, this.escape), line: ins.line });
    }
    return st;
  }

  /** A local image by name or ID, else pulled with the X-Registry-Config credentials. */
  private async baseImage(name: string): Promise<ImageRecord> {
    const local = this.images.ctx.images.tryResolve(name);
    if (local && (!this.opts.pull || /^(sha256:)?[0-9a-f]{12,64}$/.test(name))) return local;
    const ref = parseNormalizedNamed(name);
    await this.images.pull(name, (m) => {
      if (!this.opts.quiet) this.sink(m as unknown as Record<string, unknown>);
    }, this.opts.credentials(ref.domain), this.opts.signal);
    return this.images.resolve(name);
  }

  // ---- instructions -------------------------------------------------------

  private async dispatch(st: StageState, ins: Instruction): Promise<void> {
    await this.wrap(ins, async () => {
      switch (ins.cmd) {
        case 'run':
          return this.runStep(st, ins);
        case 'copy':
        case 'add':
          return this.copy(st, ins);
        case 'workdir':
          return this.workdir(st, ins);
        case 'arg':
          return this.arg(st, ins);
        case 'from':
        case 'onbuild':
        default:
          return this.metadata(st, ins);
      }
    });
  }

  /** Runs `fn`, adding the Dockerfile line to engine errors (parse errors already have it). */
  private async wrap<T>(ins: Instruction, fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (ins.line === 0 || !isEngineError(err) || /^dockerfile parse error/.test(err.message)) throw err;
      throw new EngineError(err.kind, `${err.message} (Dockerfile line ${ins.line})`, { cause: err.cause });
    }
  }

  private rc(st: StageState): RunConfig {
    return (st.config.config ?? {}) as RunConfig;
  }

  private shell(st: StageState): string[] {
    const s = this.rc(st).Shell;
    return s && s.length ? s : DEFAULT_SHELL;
  }

  /** Variables for substitution: ARGs of this stage, overridden by ENV. */
  private lookup(st: StageState): Lookup {
    const env = envLookup(this.rc(st).Env ?? []);
    return (name) => env(name) ?? (st.args.has(name) ? this.argValue(st, name) : undefined);
  }

  private argValue(st: StageState, name: string): string | undefined {
    if (Object.prototype.hasOwnProperty.call(this.opts.buildArgs, name) && this.opts.buildArgs[name] !== null) {
      this.usedBuildArgs.add(name);
      return this.opts.buildArgs[name]!;
    }
    return st.args.get(name);
  }

  private globalValue(name: string): string | undefined {
    if (!this.globalArgs.has(name)) return undefined;
    if (Object.prototype.hasOwnProperty.call(this.opts.buildArgs, name) && this.opts.buildArgs[name] !== null) {
      this.usedBuildArgs.add(name);
      return this.opts.buildArgs[name]!;
    }
    return this.globalArgs.get(name);
  }

  private expand(st: StageState, word: string): string {
    return expandWord(word, this.lookup(st), this.escape);
  }

  /** `name` or `name=default`, the default expanded. */
  private argWord(word: string, lookup: Lookup): { name: string; value: string | undefined } {
    const eq = word.indexOf('=');
    if (eq === 0) throw invalidParameter(`ARG names can not be blank`);
    if (eq < 0) return { name: word, value: undefined };
    return { name: word.slice(0, eq), value: expandWord(word.slice(eq + 1), lookup, this.escape) };
  }

  private async arg(st: StageState, ins: Instruction): Promise<void> {
    const shown: string[] = [];
    for (const w of ins.args) {
      let { name, value } = this.argWord(w, this.lookup(st));
      if (value === undefined && this.globalArgs.has(name)) value = this.globalArgs.get(name); // a global ARG re-declared in the stage
      st.args.set(name, value);
      if (Object.prototype.hasOwnProperty.call(this.opts.buildArgs, name)) this.usedBuildArgs.add(name);
      shown.push(value === undefined ? name : `${name}=${value}`);
    }
    await this.commitConfig(st, `ARG ${shown.join(' ')}`, (rc) => rc);
  }

  /** `K=V` for the stage's ARGs that have a value and no ENV of the same name (RUN's environment). */
  private argEnv(st: StageState): string[] {
    const env = envLookup(this.rc(st).Env ?? []);
    const out: string[] = [];
    for (const name of [...st.args.keys()].sort()) {
      const v = this.argValue(st, name);
      if (v !== undefined && env(name) === undefined) out.push(`${name}=${v}`);
    }
    return out;
  }

  private async metadata(st: StageState, ins: Instruction): Promise<void> {
    if (ins.cmd === 'maintainer') {
      st.config = { ...st.config, author: ins.args[0]! };
      await this.commitConfig(st, `MAINTAINER ${ins.args[0]}`, (rc) => rc);
      return;
    }
    const { config, comment, cmdSet } = applyMetadata(this.rc(st), ins, {
      expand: (w) => this.expand(st, w),
      expandEnv: (w, env) => expandWord(w, (n) => envLookup(env)(n) ?? (st.args.has(n) ? this.argValue(st, n) : undefined), this.escape),
      shell: this.shell(st),
      cmdSet: st.cmdSet,
    });
    st.cmdSet = cmdSet;
    await this.commitConfig(st, comment, () => config);
  }

  /** A metadata step: same layers, new config, an empty_layer history entry. */
  private async commitConfig(st: StageState, comment: string, change: (rc: RunConfig) => RunConfig): Promise<void> {
    const createdBy = nopCreatedBy(this.shell(st), comment);
    const rc = change({ ...this.rc(st) });
    await this.cached(st, ['meta', createdBy, st.config.author ?? ''], async () => {
      return this.images.commit({ parent: st.image, config: this.nextConfig(st, rc, { created_by: createdBy, empty_layer: true }) });
    });
  }

  private nextConfig(st: StageState, rc: RunConfig, history: { created_by: string; empty_layer?: boolean }): ImageConfigBody {
    const created = new Date().toISOString();
    const base: Record<string, unknown> = { ...st.config };
    delete base.container; // about the container that made the parent, not this image
    delete base.container_config;
    const previous = st.config.history ?? [];
    return { ...(base as ImageConfigBody), created, config: rc, history: [...previous, { created, ...history }] };
  }

  /**
   * The cache protocol around one step: a hit reuses the image; a miss makes
   * it and records it. Either way the stage moves to the image.
   */
  private async cached(st: StageState, keyParts: unknown[], make: () => Promise<ImageRecord>): Promise<void> {
    const key = BuildCache.key([st.image?.id ?? 'scratch', ...keyParts]);
    const hit = this.opts.noCache ? undefined : this.cache.get(key);
    let image: ImageRecord;
    if (hit) {
      image = this.images.ctx.images.get(hit)!;
      this.say(' ---> Using cache\n');
    } else {
      image = await make();
      await this.cache.set(key, image.id);
    }
    const { rootfs: _r, ...config } = await this.images.config(image.id);
    st.image = image;
    st.config = config;
    this.say(` ---> ${short(image.id)}\n`);
  }

  // ---- RUN ----------------------------------------------------------------

  private async runStep(st: StageState, ins: Instruction): Promise<void> {
    const cmd = ins.json ? ins.args : [...this.shell(st), ins.args[0]!];
    const argEnv = this.argEnv(st);
    const createdBy = argEnv.length ? `|${argEnv.length} ${argEnv.join(' ')} ${cmd.join(' ')}` : cmd.join(' ');
    await this.cached(st, ['run', createdBy], async () => {
      const parent = st.image ?? (await this.images.commit({ parent: undefined, config: st.config }));
      const rc = this.rc(st);
      const containers = this.deps.containers;
      const rec = await containers.create({
        Image: parent.id,
        Cmd: cmd,
        Entrypoint: [''],
        Env: argEnv,
        WorkingDir: rc.WorkingDir ?? '',
        User: rc.User ?? '',
        Labels: {},
        HostConfig: { ...this.opts.run?.hostConfig, LogConfig: { Type: 'none', Config: {} } },
      });
      this.say(` ---> Running in ${short(rec.Id)}\n`);
      try {
        const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
        containers.liveState(rec).hub.attach({ stdout: true, stderr: true }, {
          write: (stream, data) => {
            const text = decoders[stream].write(data);
            // dockerd's classic builder marks the step's stderr red in the stream, as clients expect
            if (text) this.say(stream === 'stderr' ? `\x1b[91m${text}\x1b[0m` : text);
          },
          end: () => {},
        });
        const exited = containers.nextExit(rec);
        const onAbort = () => void containers.kill(rec.Id).catch(() => {});
        this.opts.signal?.addEventListener('abort', onAbort);
        try {
          await containers.start(rec.Id);
          const { StatusCode } = await exited;
          this.checkAborted();
          if (StatusCode !== 0) throw invalidParameter(`The command '${cmd.join(' ')}' returned a non-zero code: ${StatusCode}`);
        } finally {
          this.opts.signal?.removeEventListener('abort', onAbort);
        }
        const upper = rootfsPaths(containers.store.dir(rec.Id)).upper;
        await dropInitPaths(upper, this.images.layerDirs(parent));
        const image = await this.images.commit({ parent, layer: packLayer(upper), config: this.nextConfig({ ...st, image: parent }, rc, { created_by: createdBy }) });
        await this.removeIntermediate(rec.Id, true);
        return image;
      } catch (err) {
        // --rm keeps a failed step's container for a look (dockerd's default); --force-rm removes it
        await this.removeIntermediate(rec.Id, false);
        throw err;
      }
    });
  }

  /** --rm (the default) removes a RUN step's container when the step succeeded, --force-rm always, --rm=false never. */
  private async removeIntermediate(id: string, succeeded: boolean): Promise<void> {
    const policy = this.opts.run?.remove ?? 'always';
    if (policy === 'never' || (policy === 'on-success' && !succeeded)) return;
    await this.deps.containers.remove(id, { force: true }).catch((err) => this.say(` ---> [Warning] removing intermediate container ${short(id)}: ${errorMessage(err)}\n`));
    this.say(` ---> Removed intermediate container ${short(id)}\n`);
  }

  // ---- COPY, ADD, WORKDIR -------------------------------------------------

  private async copy(st: StageState, ins: Instruction): Promise<void> {
    const CMD = ins.cmd.toUpperCase() as 'COPY' | 'ADD';
    for (const f of Object.keys(ins.flags)) if (STEP_FLAGS_IGNORED.includes(f)) this.say(` ---> [Warning] ${CMD} --${f} is ignored by the classic builder\n`);
    const words = ins.args.map((w) => this.expand(st, w));
    const srcs = words.slice(0, -1);
    let dest = words.at(-1)!;
    const workdir = this.rc(st).WorkingDir || '/';
    if (!dest.startsWith('/')) {
      const joined = posix.join(workdir, dest);
      dest = (dest.endsWith('/') || dest === '.') && !joined.endsWith('/') ? `${joined}/` : joined;
    }
    const chown = ins.flags.chown !== undefined ? this.expand(st, ins.flags.chown) : undefined;
    const chmod = ins.flags.chmod !== undefined ? parseChmod(ins.flags.chmod) : undefined;
    const from = ins.flags.from !== undefined ? this.expand(st, ins.flags.from) : undefined;
    if (from !== undefined && CMD === 'ADD') throw invalidParameter('ADD does not support --from: use COPY --from');

    await this.withSourceRoot(from, async (root) => {
      const sources = await resolveSources(root, srcs, CMD, from === undefined);
      const digest = await sourcesDigest(sources);
      const createdBy = [...this.shell(st), `#(nop) ${CMD} ${digest} in ${dest} `].join(' ');
      await this.cached(st, ['copy', createdBy, chown ?? '', chmod ?? '', from ?? ''], () =>
        this.layerStep(st, createdBy, async (rootfs) => {
          const owner = chown === undefined ? { uid: 0, gid: 0 } : await resolveOwner(rootfs, chown);
          await copyInto(rootfs, sources, { cmd: CMD, dest, owner, ...(chmod !== undefined ? { mode: chmod } : {}) });
        }),
      );
    });
  }

  private async workdir(st: StageState, ins: Instruction): Promise<void> {
    const raw = this.expand(st, ins.args[0]!);
    const dir = posix.resolve(this.rc(st).WorkingDir || '/', raw);
    const rc = { ...this.rc(st), WorkingDir: dir };
    const createdBy = [...this.shell(st), `#(nop) WORKDIR ${dir}`].join(' ');
    await this.cached(st, ['workdir', createdBy], async () => {
      // The directory is made in the image (root-owned) when it is missing, as dockerd does.
      const parent = st.image;
      const exists = parent !== undefined && (await existsInLayers(this.images.layerDirs(parent), dir));
      if (exists) return this.images.commit({ parent, config: this.nextConfig(st, rc, { created_by: createdBy, empty_layer: true }) });
      return this.layerStep({ ...st, config: { ...st.config, config: rc } }, createdBy, (rootfs) => makeDirIn(rootfs, dir, { uid: 0, gid: 0 }).then(() => undefined));
    });
  }

  /** Mounts the current image in a private dir, lets `change` edit it, packs the changes as a new layer. */
  private async layerStep(st: StageState, createdBy: string, change: (rootfs: string) => Promise<void>): Promise<ImageRecord> {
    const lowers = st.image ? this.images.layerDirs(st.image) : [];
    return this.withMount(lowers, async (rootfs, upper) => {
      await change(rootfs);
      return this.images.commit({ parent: st.image, layer: packLayer(upper), config: this.nextConfig(st, this.rc(st), { created_by: createdBy }) });
    });
  }

  private async withMount<T>(lowers: string[], fn: (rootfs: string, upper: string) => Promise<T>): Promise<T> {
    const dir = join(this.workRoot, `mnt-${randomBytes(6).toString('hex')}`);
    try {
      const rootfs = await mountRootfs(dir, lowers);
      return await fn(rootfs, rootfsPaths(dir).upper);
    } finally {
      try {
        unmountRootfs(dir);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }

  /** The context dir, or for `--from` an earlier stage's (or an image's) filesystem, mounted for the call. */
  private async withSourceRoot<T>(from: string | undefined, fn: (root: string) => Promise<T>): Promise<T> {
    if (from === undefined) return fn(this.ctx.dir);
    const byName = this.stageImages.find((s) => s.name !== undefined && s.name === from.toLowerCase());
    const byIndex = /^\d+$/.test(from) ? this.stageImages[Number(from)] : undefined;
    const stage = byName ?? byIndex;
    let image: ImageRecord | undefined;
    if (stage) image = stage.image;
    else if (/^\d+$/.test(from)) throw invalidParameter(`invalid from flag value ${from}: refers to a stage that is not built yet`);
    else image = await this.baseImage(from);
    return this.withMount(image ? this.images.layerDirs(image) : [], (rootfs) => fn(rootfs));
  }
}

/** Build args Docker accepts without an ARG (proxies). */
const PREDEFINED_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

function splitStages(instructions: Instruction[]): { meta: Instruction[]; stages: Stage[] } {
  const meta: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.cmd === 'from') {
      const name = ins.args.length === 3 ? ins.args[2]!.toLowerCase() : undefined;
      if (name !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(name)) {
        throw invalidParameter(`dockerfile parse error on line ${ins.line}: invalid name for build stage: "${ins.args[2]}", name can't start with a number or contain symbols`);
      }
      if (name !== undefined && stages.some((s) => s.name === name)) {
        throw invalidParameter(`dockerfile parse error on line ${ins.line}: duplicate name ${name}`);
      }
      stages.push({ name, index: stages.length, instructions: [ins] });
    } else if (stages.length === 0) {
      if (ins.cmd !== 'arg') throw invalidParameter(`dockerfile parse error on line ${ins.line}: ${ins.cmd.toUpperCase()} is not allowed before FROM (only ARG is)`);
      meta.push(ins);
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  if (stages.length === 0) throw invalidParameter('dockerfile parse error: no build stage in current context (a Dockerfile needs a FROM)');
  return { meta, stages };
}

function scratchConfig(): ImageConfigBody {
  const p = enginePlatform();
  return { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}), config: { Env: [] }, history: [] };
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

function parseChmod(s: string): number {
  if (!/^[0-7]{3,4}$/.test(s)) throw invalidParameter(`invalid --chmod value ${s}: use an octal mode such as 755`);
  return parseInt(s, 8);
}

/** `--chown=user[:group]`; names from the image's /etc/passwd and /etc/group; a lone user is also the group. */
async function resolveOwner(rootfs: string, spec: string): Promise<Owner> {
  const { user, group } = splitOwner(spec);
  const uid = /^\d+$/.test(user) ? Number(user) : (await resolveUser(rootfs, user)).uid;
  if (group === undefined || group === '') return { uid, gid: /^\d+$/.test(user) ? uid : (await resolveUser(rootfs, user)).gid };
  const gid = /^\d+$/.test(group) ? Number(group) : (await resolveUser(rootfs, `0:${group}`)).gid;
  return { uid, gid };
}

async function existsInLayers(lowers: string[], path: string): Promise<boolean> {
  for (const l of [...lowers].reverse()) {
    const st = await lstat(join(l, path)).catch(() => undefined);
    if (st) return st.isDirectory(); // a whiteout (0/0 device) is not a directory either
  }
  return false;
}

/**
 * The runtime creates mount points (/etc/hosts, /proc, ...) in the rootfs
 * when the image lacks them; they are not the RUN's changes. Empty ones
 * missing from the lower layers are removed before the upper dir is packed.
 */
async function dropInitPaths(upper: string, lowers: string[]): Promise<void> {
  for (const p of [...INIT_PATHS].sort((a, b) => b.length - a.length)) {
    const host = join(upper, p);
    const st = await lstat(host).catch(() => undefined);
    if (!st) continue;
    let inLower = false;
    for (const l of lowers) if (await lstat(join(l, p)).catch(() => undefined)) inLower = true;
    if (inLower) continue;
    const empty = st.isFile() ? st.size === 0 : st.isDirectory() ? (await readdir(host)).length === 0 : false;
    if (empty) await rm(host, { recursive: true, force: true }).catch(() => {});
  }
}
