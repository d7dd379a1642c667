/**
 * A container's mounts from its create request, with dockerd's parsing and
 * refusals (volume/mounts_parser, parser_linux.go):
 *
 *   HostConfig.Binds   `-v name:/path[:opts]`, `-v /host:/path[:opts]`
 *   HostConfig.Mounts  `--mount type=bind|volume|tmpfs,...`
 *   HostConfig.Tmpfs   `--tmpfs /path[:opts]`
 *   Config.Volumes     `-v /path` and the image's VOLUME: anonymous volumes
 *                      where nothing else is mounted
 *
 * Pure: no I/O. Volume names are filled in later (anonymous ones are made
 * by the volume service); bind sources are checked when the container is
 * created (`--mount`) or started (`-v` creates them).
 */
import { posix } from 'node:path';
import { invalidParameter } from '../errors.js';

/** One mount as the container record keeps it (dockerd's MountPoint, plus what we need to set it up). */
export interface MountPoint {
  Type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name; '' for an anonymous volume until it is created. */
  Name: string;
  /** Host path: the bind's source, or the volume's _data; '' for tmpfs. */
  Source: string;
  Destination: string;
  Driver: string;
  /** As given after the second colon of `-v` ("ro,z"), '' for --mount. */
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** Copy the image's content at Destination into the volume if it is empty (not `nocopy`). */
  CopyData: boolean;
  /** Removed with the container (`rm -v`, `--rm`). */
  Anonymous: boolean;
  /** `-v` binds create a missing source directory; `--mount` refuses it. */
  CreateSource: boolean;
  /** bind (--mount bind-recursive=disabled): the source alone, not the mounts under it. */
  NonRecursive?: boolean;
  /** bind (bind-recursive=writable): read-only on top, the mounts under it stay writable (before Docker 25). */
  ReadOnlyNonRecursive?: boolean;
  /** tmpfs: mount flags and data. */
  Tmpfs?: { nosuid: boolean; nodev: boolean; noexec: boolean; data: string };
  /** From --tmpfs, which dockerd does not list in Mounts. */
  Hidden?: boolean;
}

export interface MountRequest {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: {
    Propagation?: string;
    CreateMountpoint?: boolean;
    NonRecursive?: boolean;
    ReadOnlyNonRecursive?: boolean;
    ReadOnlyForceRecursive?: boolean;
  } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

export interface MountInput {
  binds?: string[] | null;
  mounts?: MountRequest[] | null;
  tmpfs?: Record<string, string> | null;
  volumes?: Record<string, object> | null;
}

const PROPAGATIONS = ['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'];
const BIND_MODES = ['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS];

const cleanPath = (p: string) => posix.normalize(p).replace(/(.)\/$/, '$1');

/**
 * Every bind is private in the container's mount namespace (its root is made
 * rprivate); shared and slave propagation would need the container's root
 * and the source's mount to take part in the agent's peer groups, which
 * Berth does not set up, so they are refused rather than made private.
 */
function checkPropagation(propagation: string, what: string): string {
  if (propagation === 'private' || propagation === 'rprivate') return propagation;
  throw invalidParameter(
    `${what}: propagation "${propagation}": Berth does not support shared or slave mount propagation yet, and refuses the mount rather than make it private: remove the option or use rprivate`,
  );
}

function checkDestination(dest: string, spec: string, type: string): string {
  if (!posix.isAbsolute(dest)) {
    throw invalidParameter(
      `invalid volume specification: '${spec}': invalid mount config for type "${type}": invalid mount path: '${dest}' mount path must be absolute`,
    );
  }
  const clean = cleanPath(dest);
  if (clean === '/')
    throw invalidParameter(`invalid volume specification: '${spec}': invalid mount config for type "${type}": invalid specification: destination can't be '/'`);
  return clean;
}

/** `-v SRC:DST[:MODE]` (Linux rules). */
export function parseBind(spec: string): MountPoint {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) throw invalidParameter(`invalid volume specification: '${spec}'`);
  const [src, rawDest, mode = ''] = parts as [string, string, string?];
  const modes = mode ? mode.split(',') : [];
  for (const m of modes) if (!BIND_MODES.includes(m)) throw invalidParameter(`invalid mode: ${mode}`);
  if (modes.includes('ro') && modes.includes('rw')) throw invalidParameter(`invalid mode: ${mode}`);
  const isBind = src.startsWith('/');
  const type = isBind ? 'bind' : 'volume';
  const dest = checkDestination(rawDest, spec, type);
  if (isBind && modes.includes('nocopy')) throw invalidParameter(`invalid mode: ${mode}`);
  const propagation = modes.find((m) => PROPAGATIONS.includes(m));
  if (!isBind && propagation) throw invalidParameter(`invalid mode: ${mode}`);
  return {
    Type: type,
    Name: isBind ? '' : src,
    Source: isBind ? cleanPath(src) : '',
    Destination: dest,
    Driver: isBind ? '' : 'local',
    Mode: isBind ? mode : mode || 'z', // dockerd shows a `-v` volume's default label mode
    RW: !modes.includes('ro'),
    Propagation: isBind ? checkPropagation(propagation ?? 'rprivate', `invalid volume specification: '${spec}'`) : '',
    CopyData: !isBind && !modes.includes('nocopy'),
    Anonymous: false,
    CreateSource: isBind,
  };
}

/** One `--mount` entry (HostConfig.Mounts). */
export function parseMount(m: MountRequest): MountPoint {
  const type = m.Type ?? '';
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') {
    throw invalidParameter(type ? `mount type unknown: "${type}"` : 'invalid mount config: must use either propagation mode "bind", "volume" or "tmpfs"');
  }
  const bad = (msg: string) => invalidParameter(`invalid mount config for type "${type}": ${msg}`);
  if (!m.Target) throw bad('field Target must not be empty');
  if (!posix.isAbsolute(m.Target)) throw bad(`invalid mount path: '${m.Target}' mount path must be absolute`);
  const dest = cleanPath(m.Target);
  if (dest === '/') throw bad(`invalid specification: destination can't be '/'`);
  const base = { Destination: dest, Mode: '', RW: !m.ReadOnly, Anonymous: false, CreateSource: false };
  if (type === 'bind') {
    if (m.VolumeOptions) throw bad('field VolumeOptions must not be specified');
    if (m.TmpfsOptions) throw bad('field TmpfsOptions must not be specified');
    if (!m.Source) throw bad('field Source must not be empty');
    if (!posix.isAbsolute(m.Source)) throw bad(`invalid mount path: '${m.Source}' mount path must be absolute`);
    const o = m.BindOptions ?? {};
    const propagation = o.Propagation || 'rprivate';
    if (!PROPAGATIONS.includes(propagation)) throw bad(`invalid propagation mode: ${propagation}`);
    checkPropagation(propagation, `invalid mount config for type "bind"`);
    // moby's volume/mounts validator, in its words
    if (o.ReadOnlyNonRecursive && !m.ReadOnly) throw bad('must not set ReadOnlyNonRecursive when ReadOnly is false');
    if (o.ReadOnlyForceRecursive && !m.ReadOnly) throw bad('must not set ReadOnlyForceRecursive when ReadOnly is false');
    if (o.ReadOnlyNonRecursive && o.ReadOnlyForceRecursive) throw bad('must not set both ReadOnlyNonRecursive and ReadOnlyForceRecursive');
    if (o.ReadOnlyForceRecursive && o.NonRecursive) throw bad('must not set ReadOnlyForceRecursive when NonRecursive is true');
    if (o.ReadOnlyForceRecursive && propagation !== 'rprivate') throw bad('must use rprivate propagation with ReadOnlyForceRecursive');
    return {
      ...base,
      Type: 'bind',
      Name: '',
      Source: cleanPath(m.Source),
      Driver: '',
      Propagation: propagation,
      CopyData: false,
      CreateSource: o.CreateMountpoint ?? false,
      ...(o.NonRecursive ? { NonRecursive: true } : {}),
      ...(o.ReadOnlyNonRecursive ? { ReadOnlyNonRecursive: true } : {}),
    };
  }
  if (type === 'volume') {
    if (m.BindOptions) throw bad('field BindOptions must not be specified');
    if (m.TmpfsOptions) throw bad('field TmpfsOptions must not be specified');
    if (m.Source && m.Source.startsWith('/')) throw bad(`invalid volume name: '${m.Source}': use type=bind for a host path`);
    const driver = m.VolumeOptions?.DriverConfig?.Name || 'local';
    return {
      ...base,
      Type: 'volume',
      Name: m.Source ?? '',
      Source: '',
      Driver: driver,
      Propagation: '',
      CopyData: !m.VolumeOptions?.NoCopy,
      Anonymous: !m.Source,
    };
  }
  if (m.Source) throw bad('field Source must not be specified');
  if (m.BindOptions) throw bad('field BindOptions must not be specified');
  if (m.VolumeOptions) throw bad('field VolumeOptions must not be specified');
  const size = m.TmpfsOptions?.SizeBytes;
  const mode = m.TmpfsOptions?.Mode;
  if (size !== undefined && size < 0) throw bad(`invalid tmpfs size: ${size}`);
  const data = [size ? `size=${Math.ceil(size / 1024)}k` : '', mode ? `mode=${(mode & 0o7777).toString(8)}` : ''].filter(Boolean).join(',');
  return {
    ...base,
    Type: 'tmpfs',
    Name: '',
    Source: '',
    Driver: '',
    Propagation: '',
    CopyData: false,
    Tmpfs: { nosuid: true, nodev: true, noexec: true, data },
  };
}

/** `--tmpfs /path:opts`: flags apart from data; dockerd's defaults are noexec,nosuid,nodev. */
export function parseTmpfs(dest: string, opts: string): MountPoint {
  const spec = opts ? `${dest}:${opts}` : dest;
  const destination = checkDestination(dest, spec, 'tmpfs');
  const t = { nosuid: true, nodev: true, noexec: true, data: '' };
  let rw = true;
  const data: string[] = [];
  for (const o of opts.split(',').filter(Boolean)) {
    if (o === 'ro' || o === 'rw') rw = o === 'rw';
    else if (o === 'exec' || o === 'noexec') t.noexec = o === 'noexec';
    else if (o === 'suid' || o === 'nosuid') t.nosuid = o === 'nosuid';
    else if (o === 'dev' || o === 'nodev') t.nodev = o === 'nodev';
    else if (/^(size|mode|uid|gid|nr_inodes|nr_blocks|mpol)=/.test(o)) data.push(o);
    else if (['atime', 'noatime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'diratime', 'nodiratime', 'sync', 'async', 'dirsync'].includes(o))
      continue;
    else throw invalidParameter(`invalid tmpfs option ["${o}"]`);
  }
  t.data = data.join(',');
  return {
    Type: 'tmpfs',
    Name: '',
    Source: '',
    Destination: destination,
    Driver: '',
    Mode: '',
    RW: rw,
    Propagation: '',
    CopyData: false,
    Anonymous: false,
    CreateSource: false,
    Tmpfs: t,
    Hidden: true,
  };
}

/**
 * All mounts of a container, refusing a destination given twice (dockerd's
 * `Duplicate mount point`). Config.Volumes entries not covered by another
 * mount become anonymous volumes. Sorted parents first, the order they are
 * mounted in.
 */
export function parseMounts(input: MountInput): MountPoint[] {
  const out: MountPoint[] = [];
  const add = (m: MountPoint) => {
    if (out.some((o) => o.Destination === m.Destination)) throw invalidParameter(`Duplicate mount point: ${m.Destination}`);
    out.push(m);
  };
  for (const b of input.binds ?? []) add(parseBind(b));
  for (const m of input.mounts ?? []) add(parseMount(m));
  for (const [dest, opts] of Object.entries(input.tmpfs ?? {})) add(parseTmpfs(dest, opts ?? ''));
  for (const dest of Object.keys(input.volumes ?? {})) {
    const d = checkDestination(dest, dest, 'volume');
    if (out.some((o) => o.Destination === d)) continue;
    out.push({
      Type: 'volume',
      Name: '',
      Source: '',
      Destination: d,
      Driver: 'local',
      Mode: '',
      RW: true,
      Propagation: '',
      CopyData: true,
      Anonymous: true,
      CreateSource: false,
    });
  }
  return sortMounts(out);
}

/** Parents before children (by path depth), as dockerd mounts them. */
export function sortMounts(mounts: MountPoint[]): MountPoint[] {
  const depth = (p: string) => p.split('/').filter(Boolean).length;
  return [...mounts].sort((a, b) => depth(a.Destination) - depth(b.Destination));
}
