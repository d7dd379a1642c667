/**
 * One build: the Dockerfile's stages run in order, each step making a new
 * (untagged) image from the previous one, with the output the docker CLI
 * expects (`Step 2/5 : RUN make`, ` ---> Using cache`, `Successfully built
 * ...`). RUN is in run-step.ts, COPY/ADD/WORKDIR in filesystem-steps.ts;
 * every other instruction changes the config only (an `empty_layer` history
 * entry). Tags are set only once the target stage finished.
 */
import { EngineError, errorMessage, invalidParameter, isEngineError } from '../errors.js';
import type { ImageService } from '../images/image-service.js';
import type { ImageRecord } from '../images/image-store.js';
import type { ImageConfigBody } from '../images/image-commit.js';
import type { Platform } from '../images/manifest.js';
import { imagePlatform, parsePlatformSpec, platformMatches } from '../images/platform-spec.js';
import { familiarString, parseNormalizedNamed, type Reference } from '../images/reference.js';
import { BuildCache } from './build-cache.js';
import { CacheFrom } from './cache-from.js';
import {
  PREDEFINED_ARGS,
  scratchConfig,
  short,
  splitStages,
  type BuilderDeps,
  type BuildOptions,
  type BuildSink,
  type CachedStep,
  type HistoryEntry,
  type Stage,
  type StageState,
  type StepHost,
} from './build-stages.js';
import { DEFAULT_SHELL, nopCreatedBy, type RunConfig } from './config-rules.js';
import type { BuildContext } from './context.js';
import { parseDockerfile, parseInstruction, type Instruction } from './dockerfile-parser.js';
import { copyStep, workdirStep } from './filesystem-steps.js';
import { applyMetadata } from './metadata-rules.js';
import { runStep } from './run-step.js';
import { envLookup, expandWord, type Lookup } from './shell-words.js';

export class BuildRun implements StepHost {
  private readonly images: ImageService;
  private step = 0;
  private total = 0;
  private escape = '\\';
  private readonly globalArgs = new Map<string, string | undefined>();
  private readonly usedBuildArgs = new Set<string>();
  readonly stageImages: StepHost['stageImages'] = [];
  private cacheFrom: CacheFrom | undefined;

  constructor(
    readonly deps: BuilderDeps,
    private readonly cache: BuildCache,
    readonly workRoot: string,
    readonly ctx: BuildContext,
    readonly opts: BuildOptions,
    private readonly sink: BuildSink,
  ) {
    this.images = deps.images;
  }

  say(text: string): void {
    if (!this.opts.quiet) this.sink({ stream: text });
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
    // --no-cache wins over --cache-from, as in dockerd (no cache is probed at all)
    if (this.opts.cacheFrom?.length && !this.opts.noCache) this.cacheFrom = await CacheFrom.open(this.images, this.opts.cacheFrom, (t) => this.say(t));

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

  checkAborted(): void {
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
    const name = await this.wrap(ins, () => expandWord(ins.args[0]!, (n) => this.globalValue(n), this.escape));
    const platform = (await this.wrap(ins, () => this.fromPlatform(ins))) ?? this.opts.platform;
    // dockerd 20.10 fails a build for another operating system at its first FROM, in these words.
    if (this.opts.platform && this.opts.platform.os !== 'linux') throw invalidParameter('operating system is not supported');
    const st: StageState = { image: undefined, config: scratchConfig(this.opts.platform), args: new Map(), cmdSet: false };
    this.cacheFrom?.reset();
    if (name.toLowerCase() === 'scratch') return st;
    const earlier = [...this.stageImages].reverse().find((s) => s.name !== undefined && s.name === name.toLowerCase());
    if (earlier) {
      st.image = earlier.image;
      st.config = structuredClone(earlier.config);
    } else {
      st.image = await this.wrap(ins, () => this.baseImage(name, platform));
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

  /** FROM --platform, its ARGs expanded, parsed as dockerd parses it (containerd's words). */
  private fromPlatform(ins: Instruction): Platform | undefined {
    if (ins.flags.platform === undefined) return undefined;
    const spec = expandWord(ins.flags.platform, (n) => this.globalValue(n), this.escape);
    try {
      return parsePlatformSpec(spec);
    } catch (err) {
      throw invalidParameter(`failed to parse platform ${spec}: ${errorMessage(err)}`);
    }
  }

  /**
   * A local image by name or ID, else pulled with the X-Registry-Config
   * credentials. With FROM --platform, as dockerd 20.10: a local image for
   * another platform is used as it is, unless it was pulled through a
   * multi-platform index, whose entry for that platform is pulled instead.
   */
  async baseImage(name: string, platform?: Platform): Promise<ImageRecord> {
    const local = this.images.ctx.images.tryResolve(name);
    const byId = /^(sha256:)?[0-9a-f]{12,64}$/.test(name);
    if (local && (!this.opts.pull || byId) && (byId || (await this.fitsPlatform(local, platform)))) return local;
    const ref = parseNormalizedNamed(name);
    await this.images.pull(
      name,
      (m) => {
        if (!this.opts.quiet) this.sink(m as unknown as Record<string, unknown>);
      },
      this.opts.credentials(ref.domain),
      this.opts.signal,
      platform,
    );
    return this.images.resolve(name);
  }

  private async fitsPlatform(image: ImageRecord, want: Platform | undefined): Promise<boolean> {
    if (!want || image.manifests.length < 2) return true; // one manifest: not pulled through an index
    const c = await this.images.config(image.id);
    return platformMatches(want, imagePlatform(c));
  }

  // ---- instructions -------------------------------------------------------

  private async dispatch(st: StageState, ins: Instruction): Promise<void> {
    await this.wrap(ins, async () => {
      switch (ins.cmd) {
        case 'run':
          return runStep(this, st, ins);
        case 'copy':
        case 'add':
          return copyStep(this, st, ins);
        case 'workdir':
          return workdirStep(this, st, ins);
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

  rc(st: StageState): RunConfig {
    return (st.config.config ?? {}) as RunConfig;
  }

  shell(st: StageState): string[] {
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

  expand(st: StageState, word: string): string {
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
  argEnv(st: StageState): string[] {
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
    await this.cached(st, { key: ['meta', createdBy, st.config.author ?? ''], rc }, async () => {
      return this.images.commit({ parent: st.image, config: this.nextConfig(st, rc, { created_by: createdBy, empty_layer: true }) });
    });
  }

  /** The config of the image a step makes: the stage's, with `rc` and one more history entry (made now unless it says when). */
  nextConfig(st: StageState, rc: RunConfig, history: HistoryEntry): ImageConfigBody {
    const created = history.created ?? new Date().toISOString();
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
  async cached(st: StageState, step: CachedStep, make: () => Promise<ImageRecord>): Promise<void> {
    const key = BuildCache.key([st.image?.id ?? 'scratch', ...step.key]);
    const hit = this.opts.noCache ? undefined : await this.cacheHit(st, key, step);
    let image: ImageRecord;
    if (hit) {
      image = hit;
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

  /** The local cache's image for the step, or with --cache-from what the sources allow (cache-from.ts). */
  private async cacheHit(st: StageState, key: string, step: CachedStep): Promise<ImageRecord | undefined> {
    const id = this.cache.get(key);
    const local = id === undefined ? undefined : this.images.ctx.images.get(id);
    if (!this.cacheFrom) return local;
    if (local && this.cacheFrom.admitsLocal(local.id)) return local;
    const hit = this.cacheFrom.probe({ image: st.image, history: st.config.history ?? [] }, step.key[1]);
    if (hit?.kind === 'source') {
      // dockerd's SetParent: the source now descends from the image the build reached
      if (st.image && hit.image.parent !== st.image.id) await this.images.ctx.images.add({ ...hit.image, parent: st.image.id });
      return this.images.ctx.images.get(hit.image.id);
    }
    if (hit?.kind === 'entry') return this.images.commit({ parent: st.image, reuse: hit.layer, config: this.nextConfig(st, step.rc, hit.entry) });
    return undefined;
  }
}
