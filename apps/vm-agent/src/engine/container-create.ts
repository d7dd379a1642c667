/**
 * Building a container record from a create request and the image's config,
 * with dockerd's merge rules (daemon/create.go, merge.go) and its refusals.
 * Pure: no I/O, so the rules are unit-tested directly.
 */
import { hostname as osHostname } from 'node:os';
import { invalidParameter, systemError } from '../errors.js';
import type { ImageConfig } from '../images/manifest.js';
import type { EndpointSettingsRequest } from '../network/network-types.js';
import { planResources, validateLimits } from './container-limits.js';
import { namespaceDefaults, validateNamespaces } from './container-namespaces.js';
import { validateSecurity } from './container-security.js';
import { type FieldRefusal, refuseFields } from './field-refusals.js';
import { validateRestartPolicy } from './restart-policy.js';
import { mergeHealthcheck, validateHealthcheck, type HealthConfig } from './health-rules.js';
import { type ContainerConfig, type ContainerRecord, type HostConfig, type RestartPolicy, nowRfc3339, ZERO_TIME } from './container-types.js';

/** The body of POST /containers/create: Config fields at the top, plus HostConfig. */
export interface CreateRequest {
  NetworkDisabled?: boolean;
  MacAddress?: string;
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

/** dockerd's own log drivers; Berth has json-file and none, and names the others when refusing them. */
const DOCKERD_LOG_DRIVERS = ['local', 'syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries'];
/** json-file options Berth applies (json-log.ts). */
const LOG_OPTS_APPLIED = ['max-size', 'max-file'];
/** json-file options dockerd knows that Berth does not apply yet: refused by name rather than stored and ignored. */
const LOG_OPTS_NOT_APPLIED = ['compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag', 'max-buffer-size'];

/** json-file options refused by name: non-blocking delivery, and the options Berth does not apply yet. */
const LOG_OPT_REFUSALS: FieldRefusal[] = [
  {
    field: 'mode',
    refused: (v) => v === 'non-blocking',
    message: () => 'HostConfig.LogConfig mode=non-blocking: Berth delivers logs in blocking mode only; remove the option',
  },
  ...LOG_OPTS_NOT_APPLIED.map((k) => ({
    field: k,
    refused: (v: unknown) => v !== undefined,
    message: () => `HostConfig.LogConfig option '${k}': Berth does not apply it for the json-file log driver yet; remove the option`,
  })),
];

/** HostConfig.LogConfig checked as dockerd's logger.ValidateLogOpts does, with Berth's refusals. */
function validateLogConfig(type: string, opts: Record<string, string>): void {
  if (type === 'none') return; // dockerd takes any options for none: there is nothing to apply them to
  if (type !== 'json-file') {
    if (DOCKERD_LOG_DRIVERS.includes(type))
      throw invalidParameter(`HostConfig.LogConfig.Type "${type}": Berth has the json-file and none log drivers only; use --log-driver json-file`);
    throw invalidParameter(`error looking up logging plugin ${type}: plugin "${type}" not found`);
  }
  const mode = opts.mode ?? '';
  if (mode !== '' && mode !== 'blocking' && mode !== 'non-blocking') throw invalidParameter(`logger: logging mode not supported: ${mode}`);
  refuseFields(opts, LOG_OPT_REFUSALS);
  const unknown = Object.keys(opts).find((k) => k !== 'mode' && !LOG_OPTS_APPLIED.includes(k) && !LOG_OPTS_NOT_APPLIED.includes(k));
  if (unknown !== undefined) throw invalidParameter(`unknown log opt '${unknown}' for json-file log driver`);
}

const asArray = (v: string[] | string | null | undefined): string[] | null => (v === undefined || v === null ? null : typeof v === 'string' ? [v] : v);

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
  validateNamespaces(req.HostConfig ?? {}, req.Hostname);
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
    ...(req.NetworkDisabled ? { NetworkDisabled: true } : {}),
    ...(req.MacAddress ? { MacAddress: req.MacAddress } : {}),
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

/** dockerd's /dev/shm size when ShmSize is 0. */
const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/**
 * Where and how the container is placed, as dockerd on Linux takes it:
 * Isolation only 'default', no StorageOpt on overlay over ext4, the local
 * volume driver only (dockerd's words and status codes); a cgroup parent or
 * shared cgroup, which Berth does not apply yet, refused by name.
 */
const PLACEMENT: FieldRefusal[] = [
  {
    field: 'Isolation',
    refused: (v) => !!v && v !== 'default',
    error: systemError,
    message: (v) => `Invalid isolation: "${String(v)}" - linux only supports 'default'`,
  },
  { field: 'StorageOpt', error: systemError, message: () => "--storage-opt is supported only for overlay over xfs with 'pquota' mount option" },
  {
    field: 'VolumeDriver',
    refused: (v) => !!v && v !== 'local',
    message: (v) => `error looking up volume plugin ${String(v)}: plugin "${String(v)}" not found`,
  },
  { field: 'ShmSize', refused: (v) => typeof v === 'number' && v < 0, message: () => 'SHM size can not be less than 0' },
  ...[
    ['CgroupParent', '--cgroup-parent'],
    ['Cgroup', '--cgroup'],
  ].map(([field, flag]) => ({
    field: field!,
    refused: (v: unknown) => !!v,
    message: () => `HostConfig.${field}: Berth places every container's cgroup under its own parent and does not support ${flag} yet; remove the option`,
  })),
];

/** The one runtime: containers run by the agent itself (`docker info` DefaultRuntime). */
export const RUNTIME = 'berth';

function validateRuntime(runtime: string | undefined): void {
  if (runtime && runtime !== RUNTIME) throw invalidParameter(`Unknown runtime specified ${runtime}`);
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
  validateLogConfig(logType, logOpts);
  validateRuntime(hc.Runtime as string | undefined);
  refuseFields(hc, PLACEMENT);
  validateLimits(hc);
  hc = planResources(hc).hostConfig; // what the cgroups here cannot apply is dropped, with the warnings create answers
  validateSecurity(hc);
  // Which networks exist is the network layer's to say (NetworkAttacher.configure).
  const mode = hc.NetworkMode ?? '';
  return {
    ...hc,
    AutoRemove: autoRemove,
    RestartPolicy: policy,
    LogConfig: { Type: logType, Config: logOpts },
    Runtime: RUNTIME,
    ShmSize: typeof hc.ShmSize === 'number' && hc.ShmSize > 0 ? hc.ShmSize : DEFAULT_SHM_SIZE,
    NetworkMode: mode === '' ? 'bridge' : mode,
    Binds: hc.Binds ?? null,
    ConsoleSize: hc.ConsoleSize ?? [0, 0],
    ...namespaceDefaults(hc),
  };
}
