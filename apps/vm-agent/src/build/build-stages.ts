/**
 * The shapes a build run works with: its options and output sink, the
 * Dockerfile's stages and a stage's state as the steps change it, and the
 * small rules about them (splitting instructions into stages, the scratch
 * config, the short ID printed in the output).
 */
import { invalidParameter } from '../errors.js';
import type { ContainerService } from '../engine/containers.js';
import type { ImageService } from '../images/image-service.js';
import type { ImageRecord } from '../images/image-store.js';
import type { ImageConfigBody } from '../images/image-commit.js';
import { enginePlatform, type Platform } from '../images/manifest.js';
import type { RegistryCredentials } from '../images/registry-client.js';
import type { RunConfig } from './config-rules.js';
import type { BuildContext } from './context.js';
import type { Instruction } from './dockerfile-parser.js';

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
  /** `--platform`: the platform of every FROM without its own, and of a stage FROM scratch. */
  platform?: Platform;
  /** `--cache-from`: images whose history may stand in for steps (cache-from.ts). */
  cacheFrom?: string[];
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

export interface Stage {
  name: string | undefined;
  index: number;
  instructions: Instruction[];
}

export interface StageState {
  image: ImageRecord | undefined;
  config: ImageConfigBody;
  /** ARGs declared in this stage, with their values (undefined: declared without one). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
}

/** What the step modules (run-step.ts, filesystem-steps.ts) use of the build run. */
export interface StepHost {
  readonly deps: BuilderDeps;
  readonly opts: BuildOptions;
  readonly ctx: BuildContext;
  readonly workRoot: string;
  /** Each finished stage's image and config, by position. */
  readonly stageImages: { name: string | undefined; image: ImageRecord | undefined; config: ImageConfigBody }[];
  say(text: string): void;
  checkAborted(): void;
  rc(st: StageState): RunConfig;
  shell(st: StageState): string[];
  expand(st: StageState, word: string): string;
  argEnv(st: StageState): string[];
  nextConfig(st: StageState, rc: RunConfig, history: HistoryEntry): ImageConfigBody;
  cached(st: StageState, step: CachedStep, make: () => Promise<ImageRecord>): Promise<void>;
  baseImage(name: string): Promise<ImageRecord>;
}

/** One entry of an image's history. */
export type HistoryEntry = NonNullable<ImageConfigBody['history']>[number];

/** A step as the cache sees it. */
export interface CachedStep {
  /** What decides its result besides the parent image: the kind of step, then its history's created_by, then the rest. */
  key: [kind: string, createdBy: string, ...rest: unknown[]];
  /** The run config the step leaves (an image made from a --cache-from entry gets it). */
  rc: RunConfig;
}

/** Build args Docker accepts without an ARG (proxies). */
export const PREDEFINED_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

export function splitStages(instructions: Instruction[]): { meta: Instruction[]; stages: Stage[] } {
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

/** A stage FROM scratch: the build's --platform (as dockerd 20.10 commits it; FROM's own does not count), else the engine's. */
export function scratchConfig(p: Platform = enginePlatform()): ImageConfigBody {
  return { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}), config: { Env: [] }, history: [] };
}

export const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
