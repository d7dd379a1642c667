/**
 * The JSON types of request bodies, checked before a handler sees them.
 *
 * dockerd decodes bodies into Go structs, so a field of the wrong JSON type
 * (`"Env": "A=1"`, `"Image": 5`, `"HostConfig": "x"`) is a 400 before any
 * work is done. Without this check such a body reached the engine as if it
 * were well typed: some crashed it into a 500, others were stored as garbage
 * in a container record. Only types are checked here (values are the
 * engine's to judge); unknown fields are ignored and `null` is allowed
 * anywhere, as Go's decoder does. Messages follow encoding/json's.
 */
import { invalidParameter } from '../errors.js';

/** A field's type, named as the Go type dockerd decodes it into. */
export type Shape =
  | 'string'
  | 'bool'
  | 'int64'
  | 'float64'
  | '[]string'
  /** A string or a list of strings (Cmd, Entrypoint). */
  | 'strslice.StrSlice'
  | 'map[string]string'
  /** An object whose values are not checked (ExposedPorts, Volumes). */
  | 'map[string]struct {}'
  | StructShape
  | { array: Shape }
  | { map: Shape };

export interface StructShape {
  struct: string;
  fields: Record<string, Shape>;
}

const struct = (name: string, fields: Record<string, Shape>): StructShape => ({ struct: name, fields });

function goType(s: Shape): string {
  if (typeof s === 'string') return s;
  if ('struct' in s) return s.struct;
  if ('array' in s) return `[]${goType(s.array)}`;
  return `map[string]${goType(s.map)}`;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v; // string, number, object
}

/** Scalars only; lists and maps are checked element by element in checkShape. */
function fitsScalar(v: unknown, s: 'string' | 'bool' | 'int64' | 'float64'): boolean {
  if (s === 'string') return typeof v === 'string';
  if (s === 'bool') return typeof v === 'boolean';
  if (s === 'int64') return typeof v === 'number' && Number.isInteger(v);
  return typeof v === 'number';
}

/**
 * Throws a 400 naming the first field whose JSON type does not fit. A null
 * field is left alone, but a null string inside a list or map is refused:
 * Go would make it "", the engine would see null.
 */
export function checkShape(value: unknown, shape: Shape, path: string, element = false): void {
  if (value === undefined || (value === null && !(element && shape === 'string'))) return;
  const refuse = (): never => {
    const what = typeof value === 'number' ? `number ${value}` : value === null ? 'null' : jsonKind(value);
    throw invalidParameter(`json: cannot unmarshal ${what} into Go struct field ${path} of type ${goType(shape)}`);
  };
  const isObject = typeof value === 'object' && !Array.isArray(value);
  if (typeof shape === 'string') {
    if (shape === 'string' || shape === 'bool' || shape === 'int64' || shape === 'float64') {
      if (!fitsScalar(value, shape)) refuse();
    } else if (shape === '[]string' || shape === 'strslice.StrSlice') {
      if (shape === 'strslice.StrSlice' && typeof value === 'string') return;
      if (!Array.isArray(value)) refuse();
      (value as unknown[]).forEach((e, i) => checkShape(e, 'string', `${path}[${i}]`, true));
    } else if (shape === 'map[string]string' || shape === 'map[string]struct {}') {
      if (!isObject) refuse();
      if (shape === 'map[string]string') for (const [k, e] of Object.entries(value as object)) checkShape(e, 'string', `${path}.${k}`, true);
    }
    return;
  }
  if ('array' in shape) {
    if (!Array.isArray(value)) refuse();
    (value as unknown[]).forEach((e, i) => checkShape(e, shape.array, `${path}[${i}]`));
    return;
  }
  if (!isObject) refuse();
  if ('map' in shape) {
    for (const [k, e] of Object.entries(value as object)) checkShape(e, shape.map, `${path}.${k}`);
    return;
  }
  for (const [k, s] of Object.entries(shape.fields)) checkShape((value as Record<string, unknown>)[k], s, `${path}.${k}`);
}

const ulimit = struct('container.Ulimit', { Name: 'string', Soft: 'int64', Hard: 'int64' });
const portBinding = struct('nat.PortBinding', { HostIp: 'string', HostPort: 'string' });
const mount = struct('mount.Mount', {
  Type: 'string',
  Source: 'string',
  Target: 'string',
  ReadOnly: 'bool',
  Consistency: 'string',
  BindOptions: struct('mount.BindOptions', {
    Propagation: 'string',
    NonRecursive: 'bool',
    CreateMountpoint: 'bool',
    ReadOnlyNonRecursive: 'bool',
    ReadOnlyForceRecursive: 'bool',
  }),
  VolumeOptions: struct('mount.VolumeOptions', { NoCopy: 'bool', Labels: 'map[string]string', Subpath: 'string' }),
  TmpfsOptions: struct('mount.TmpfsOptions', { SizeBytes: 'int64', Mode: 'int64' }),
});

export const HOST_CONFIG: StructShape = struct('container.HostConfig', {
  Binds: '[]string',
  ContainerIDFile: 'string',
  LogConfig: struct('container.LogConfig', { Type: 'string', Config: 'map[string]string' }),
  NetworkMode: 'string',
  PortBindings: { map: { array: portBinding } },
  RestartPolicy: struct('container.RestartPolicy', { Name: 'string', MaximumRetryCount: 'int64' }),
  AutoRemove: 'bool',
  VolumeDriver: 'string',
  VolumesFrom: '[]string',
  ConsoleSize: { array: 'int64' },
  Annotations: 'map[string]string',
  CapAdd: 'strslice.StrSlice',
  CapDrop: 'strslice.StrSlice',
  CgroupnsMode: 'string',
  Dns: '[]string',
  DnsOptions: '[]string',
  DnsSearch: '[]string',
  ExtraHosts: '[]string',
  GroupAdd: '[]string',
  IpcMode: 'string',
  Cgroup: 'string',
  Links: '[]string',
  OomScoreAdj: 'int64',
  PidMode: 'string',
  Privileged: 'bool',
  PublishAllPorts: 'bool',
  ReadonlyRootfs: 'bool',
  SecurityOpt: '[]string',
  StorageOpt: 'map[string]string',
  Tmpfs: 'map[string]string',
  UTSMode: 'string',
  UsernsMode: 'string',
  ShmSize: 'int64',
  Sysctls: 'map[string]string',
  Runtime: 'string',
  Isolation: 'string',
  CpuShares: 'int64',
  Memory: 'int64',
  NanoCpus: 'int64',
  CgroupParent: 'string',
  BlkioWeight: 'int64',
  CpuPeriod: 'int64',
  CpuQuota: 'int64',
  CpuRealtimePeriod: 'int64',
  CpuRealtimeRuntime: 'int64',
  CpusetCpus: 'string',
  CpusetMems: 'string',
  DeviceCgroupRules: '[]string',
  Devices: { array: struct('container.DeviceMapping', { PathOnHost: 'string', PathInContainer: 'string', CgroupPermissions: 'string' }) },
  KernelMemory: 'int64',
  MemoryReservation: 'int64',
  MemorySwap: 'int64',
  MemorySwappiness: 'int64',
  OomKillDisable: 'bool',
  PidsLimit: 'int64',
  Ulimits: { array: ulimit },
  Mounts: { array: mount },
  Init: 'bool',
});

const endpointSettings = struct('network.EndpointSettings', {
  IPAMConfig: struct('network.EndpointIPAMConfig', { IPv4Address: 'string', IPv6Address: 'string', LinkLocalIPs: '[]string' }),
  Links: '[]string',
  Aliases: '[]string',
  MacAddress: 'string',
  DriverOpts: 'map[string]string',
  NetworkID: 'string',
});

/** POST /containers/create: Config at the top, plus HostConfig and NetworkingConfig. */
export const CONTAINER_CREATE: StructShape = struct('ContainerConfigWrapper', {
  Hostname: 'string',
  Domainname: 'string',
  User: 'string',
  AttachStdin: 'bool',
  AttachStdout: 'bool',
  AttachStderr: 'bool',
  ExposedPorts: 'map[string]struct {}',
  Tty: 'bool',
  OpenStdin: 'bool',
  StdinOnce: 'bool',
  Env: '[]string',
  Cmd: 'strslice.StrSlice',
  ArgsEscaped: 'bool',
  Image: 'string',
  Volumes: 'map[string]struct {}',
  WorkingDir: 'string',
  Entrypoint: 'strslice.StrSlice',
  NetworkDisabled: 'bool',
  MacAddress: 'string',
  OnBuild: '[]string',
  Labels: 'map[string]string',
  StopSignal: 'string',
  StopTimeout: 'int64',
  Shell: 'strslice.StrSlice',
  Healthcheck: struct('container.HealthConfig', {
    Test: '[]string',
    Interval: 'int64',
    Timeout: 'int64',
    StartPeriod: 'int64',
    StartInterval: 'int64',
    Retries: 'int64',
  }),
  HostConfig: HOST_CONFIG,
  NetworkingConfig: struct('network.NetworkingConfig', { EndpointsConfig: { map: endpointSettings } }),
});

/** POST /containers/{id}/exec. */
export const EXEC_CREATE: StructShape = struct('container.ExecOptions', {
  User: 'string',
  Privileged: 'bool',
  Tty: 'bool',
  ConsoleSize: { array: 'int64' },
  AttachStdin: 'bool',
  AttachStderr: 'bool',
  AttachStdout: 'bool',
  DetachKeys: 'string',
  Env: '[]string',
  WorkingDir: 'string',
  Cmd: 'strslice.StrSlice',
});

/** POST /networks/create. */
export const NETWORK_CREATE: StructShape = struct('network.CreateRequest', {
  Name: 'string',
  Driver: 'string',
  Scope: 'string',
  EnableIPv4: 'bool',
  EnableIPv6: 'bool',
  IPAM: struct('network.IPAM', {
    Driver: 'string',
    Options: 'map[string]string',
    Config: { array: struct('network.IPAMConfig', { Subnet: 'string', IPRange: 'string', Gateway: 'string', AuxiliaryAddresses: 'map[string]string' }) },
  }),
  Internal: 'bool',
  Attachable: 'bool',
  Ingress: 'bool',
  Options: 'map[string]string',
  Labels: 'map[string]string',
});

/** POST /networks/{id}/connect and disconnect. */
export const NETWORK_CONNECT: StructShape = struct('network.ConnectOptions', { Container: 'string', EndpointConfig: endpointSettings, Force: 'bool' });

/** POST /volumes/create. */
export const VOLUME_CREATE: StructShape = struct('volume.CreateOptions', {
  Name: 'string',
  Driver: 'string',
  DriverOpts: 'map[string]string',
  Labels: 'map[string]string',
});

/** POST /containers/{id}/update: the resource fields of HostConfig and the restart policy. */
export const CONTAINER_UPDATE: StructShape = struct('container.UpdateConfig', HOST_CONFIG.fields);

/** Checks a decoded body's types; a body that is not an object at all is refused too. */
export function checkBody<T>(body: unknown, shape: StructShape): T {
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    throw invalidParameter(`json: cannot unmarshal ${jsonKind(body)} into Go value of type ${shape.struct}`);
  }
  checkShape(body, shape, shape.struct);
  return body as T;
}
