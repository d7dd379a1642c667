/**
 * Building a container record from a create request and the image's config,
 * with dockerd's merge rules (daemon/create.go, merge.go) and its refusals.
 * Pure: no I/O, so the rules are unit-tested directly.
 */
import { hostname as osHostname } from 'node:os';
import { invalidParameter } from '../errors.js';
import type { ImageConfig } from '../images/manifest.js';
import type { EndpointSettingsRequest } from '../network/network-types.js';
import { validateLimits } from './container-limits.js';
import { validateSecurity } from './container-security.js';
import { validateRestartPolicy } from './restart-policy.js';
import { mergeHealthcheck, validateHealthcheck, type HealthConfig } from './health-rules.js';
import { type ContainerConfig, type ContainerRecord, type HostConfig, type RestartPolicy, nowRfc3339, ZERO_TIME } from './container-types.js';

/** The body of POST /containers/create: Config fields at the top, plus HostConfig. */
export interface CreateRequest {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | string | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Healthcheck?: HealthConfig | null;
  HostConfig?: Partial<HostConfig> | null;
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointSettingsRequest | null> | null } | null;
}

const LOG_OPTS = ['max-size', 'max-file', 'compress', 'labels', 'env', 'env-regex', 'tag', 'mode', 'max-buffer-size'];

const asArray = (v: string[] | string | null | undefined): string[] | null =>
  v === undefined || v === null ? null : typeof v === 'string' ? [v] : v;

/** Env lists merged: later entries replace earlier ones with the same key. */
export function mergeEnv(base: string[], over: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...over]) {
    const key = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
    out.delete(key); // keep the override's position, as dockerd does
    out.set(key, e);
  }
  return [...out.values()];
}

export interface CreateInput {
  id: string;
  /** "/name". */
  name: string;
  imageId: string;
  image: ImageConfig;
  req: CreateRequest;
}

export function buildContainerRecord({ id, name, imageId, image, req }: CreateInput): ContainerRecord {
  const ic = image.config ?? {};
  const userEntrypoint = asArray(req.Entrypoint);
  let cmd = asArray(req.Cmd);
  let entrypoint: string[] | null;
  // `--entrypoint ""` arrives as [""]: no entrypoint at all, not even the image's.
  const clearedEntrypoint = userEntrypoint !== null && userEntrypoint.length === 1 && userEntrypoint[0] === '';
  if (userEntrypoint !== null && userEntrypoint.length > 0 && !clearedEntrypoint) {
    entrypoint = userEntrypoint;
  } else {
    if (cmd === null || cmd.length === 0) cmd = ic.Cmd ?? null;
    entrypoint = clearedEntrypoint ? null : (ic.Entrypoint ?? null);
  }
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (argv.length === 0 || argv[0] === '') throw invalidParameter('No command specified');

  const workingDir = req.WorkingDir || ic.WorkingDir || '';
  if (workingDir && !workingDir.startsWith('/')) {
    throw invalidParameter(`the working directory '${workingDir}' is invalid, it needs to be an absolute path`);
  }
  const hostConfig = normalizeHostConfig(req.HostConfig ?? {});
  if (req.StopTimeout !== undefined && req.StopTimeout !== null && req.StopTimeout < -1) {
    throw invalidParameter(`invalid stop timeout ${req.StopTimeout}: it must be -1 (wait forever) or more`);
  }
  const healthcheck = mergeHealthcheck(ic.Healthcheck as HealthConfig | undefined, req.Healthcheck);
  validateHealthcheck(healthcheck);

  const config: ContainerConfig = {
    // `--network host` takes the host's name, as dockerd does.
    Hostname: req.Hostname || (hostConfig.NetworkMode === 'host' ? osHostname() : id.slice(0, 12)),
    Domainname: req.Domainname ?? '',
    User: req.User || ic.User || '',
    AttachStdin: req.AttachStdin ?? false,
    AttachStdout: req.AttachStdout ?? false,
    AttachStderr: req.AttachStderr ?? false,
    ...(ic.ExposedPorts || req.ExposedPorts ? { ExposedPorts: { ...(ic.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) } } : {}),
    Tty: req.Tty ?? false,
    OpenStdin: req.OpenStdin ?? false,
    StdinOnce: req.StdinOnce ?? false,
    Env: mergeEnv(ic.Env ?? [], req.Env ?? []),
    Cmd: cmd,
    Image: req.Image ?? imageId,
    Volumes: ic.Volumes || req.Volumes ? { ...(ic.Volumes ?? {}), ...(req.Volumes ?? {}) } : null,
    WorkingDir: workingDir,
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: { ...(ic.Labels ?? {}), ...(req.Labels ?? {}) },
    ...(req.StopSignal || ic.StopSignal ? { StopSignal: req.StopSignal || ic.StopSignal } : {}),
    ...(req.StopTimeout !== undefined && req.StopTimeout !== null ? { StopTimeout: req.StopTimeout } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
  };
  if (!config.Env.some((e) => e.startsWith('PATH='))) {
    config.Env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  }
  return {
    Id: id,
    Name: name,
    Created: nowRfc3339(),
    Path: argv[0]!,
    Args: argv.slice(1),
    Image: imageId,
    Config: config,
    HostConfig: hostConfig,
    State: { Status: 'created', Pid: 0, ExitCode: 0, Error: '', OOMKilled: false, StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME },
    RestartCount: 0,
    HasBeenManuallyStopped: false,
    HasBeenStartedBefore: false,
  };
}

/** Fills defaults and refuses what dockerd refuses (400, or 404 for an unknown network). */
export function normalizeHostConfig(hc: Partial<HostConfig>): HostConfig {
  const policy: RestartPolicy = {
    Name: (hc.RestartPolicy?.Name ?? '') as RestartPolicy['Name'],
    MaximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0,
  };
  const autoRemove = hc.AutoRemove ?? false;
  validateRestartPolicy(policy, autoRemove);
  const logType = hc.LogConfig?.Type || 'json-file';
  const logOpts = hc.LogConfig?.Config ?? {};
  if (logType !== 'json-file' && logType !== 'none') throw invalidParameter(`failed to create logger: logger: no log driver named '${logType}' is registered`);
  for (const k of Object.keys(logOpts)) {
    if (!LOG_OPTS.includes(k)) throw invalidParameter(`unknown log opt '${k}' for ${logType} log driver`);
  }
  validateLimits(hc);
  validateSecurity(hc);
  // Which networks exist is the network layer's to say (NetworkAttacher.configure).
  const mode = hc.NetworkMode ?? '';
  return {
    ...hc,
    AutoRemove: autoRemove,
    RestartPolicy: policy,
    LogConfig: { Type: logType, Config: logOpts },
    NetworkMode: mode === '' ? 'bridge' : mode,
    Binds: hc.Binds ?? null,
    ConsoleSize: hc.ConsoleSize ?? [0, 0],
  };
}
