/**
 * A container's volumes and mounts across its life:
 *   create  parse Binds/Mounts/Tmpfs/Volumes (volumes/mount-spec.ts), make
 *           named volumes on first use and anonymous ones, refuse a missing
 *           `--mount` bind source (dockerd's 400)
 *   start   the runtime's mount list: `-v` bind sources created when
 *           missing, volumes filled from the image on first use
 *   rm      anonymous volumes removed with `rm -v` and `--rm`
 * and the `Mounts` list of inspect and ps.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { invalidParameter } from '../errors.js';
import type { ContainerMount } from '../runtime/spawn.js';
import { type MountPoint, parseMounts, type MountRequest } from '../volumes/mount-spec.js';
import { populateVolume } from '../volumes/populate.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { ViewMount } from './container-archive.js';
import type { ContainerRecord } from './container-types.js';

export class ContainerMounts {
  constructor(readonly volumes: VolumeService) {}

  /**
   * At create: the mount points to keep in the record (volumes exist
   * afterwards). `--volumes-from` mounts come first, so the container's own
   * binds, mounts and volumes at the same destination win, as in dockerd.
   */
  async prepare(rec: ContainerRecord, findContainer: (ref: string) => ContainerRecord): Promise<MountPoint[]> {
    const hc = rec.HostConfig;
    const own = parseMounts({
      binds: hc.Binds,
      mounts: hc.Mounts as MountRequest[] | null | undefined,
      tmpfs: hc.Tmpfs as Record<string, string> | null | undefined,
      volumes: rec.Config.Volumes,
    });
    const taken = new Set(own.map((m) => m.Destination));
    const inherited = volumesFrom(hc.VolumesFrom as string[] | null | undefined, findContainer).filter((m) => !taken.has(m.Destination));
    const points = [...inherited, ...own];
    for (const m of points) {
      if (m.Type === 'bind' && !m.CreateSource && !existsSync(m.Source)) {
        throw invalidParameter(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
      }
      if (m.Type !== 'volume') continue;
      const v = await this.volumes.create({ Name: m.Name || undefined, Driver: m.Driver });
      m.Name = v.Name;
      m.Source = v.Mountpoint;
    }
    return points;
  }

  /** At start, with the rootfs mounted: what the runtime mounts. Clears CopyData of volumes it filled (the record is saved by the caller). */
  async runtimeMounts(rec: ContainerRecord, rootfs: string): Promise<ContainerMount[]> {
    const out: ContainerMount[] = [];
    for (const m of rec.MountPoints ?? []) {
      if (m.Type === 'tmpfs') {
        out.push({ type: 'tmpfs', destination: m.Destination, readonly: !m.RW, ...m.Tmpfs, data: m.Tmpfs?.data || undefined });
        continue;
      }
      if (m.Type === 'bind' && !existsSync(m.Source)) {
        if (!m.CreateSource) throw invalidParameter(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
        await mkdir(m.Source, { recursive: true, mode: 0o755 });
      }
      if (m.Type === 'volume') {
        if (!this.volumes.has(m.Name)) await this.volumes.create({ Name: m.Name }); // removed with -f meanwhile: dockerd recreates it
        m.Source = this.volumes.dataPath(m.Name);
        if (m.CopyData) {
          await populateVolume(rootfs, m.Destination, m.Source);
          m.CopyData = false;
        }
      }
      out.push({
        type: 'bind',
        source: m.Source,
        destination: m.Destination,
        readonly: !m.RW,
        ...(m.ReadOnlyNonRecursive ? { readonlyTopOnly: true } : {}),
        ...(m.NonRecursive ? { nonRecursive: true } : {}),
      });
    }
    return out;
  }

  /** The mounts `docker cp` resolves through (container-archive.ts), as the container's processes see them. */
  viewMounts(rec: ContainerRecord): ViewMount[] {
    return (rec.MountPoints ?? []).map((m) => ({
      destination: m.Destination,
      source: m.Type === 'volume' ? this.volumes.dataPath(m.Name) : m.Source,
      readonly: !m.RW,
      ...(m.Type === 'tmpfs' ? { tmpfs: true } : {}),
    }));
  }

  /** At rm: removes the container's anonymous volumes if asked (`rm -v`, `--rm`); other users keep a volume. */
  async release(rec: ContainerRecord, removeAnonymous: boolean, warn: (msg: string) => void): Promise<void> {
    if (!removeAnonymous) return;
    for (const m of rec.MountPoints ?? []) {
      if (m.Type !== 'volume' || !this.volumes.isAnonymous(m.Name)) continue;
      if (this.volumes.inUseBy(m.Name).some((id) => id !== rec.Id)) continue;
      await this.volumes.remove(m.Name, { force: true }).catch((err) => warn(`removing volume ${m.Name}: ${(err as Error).message}`));
    }
  }

  /** Whether a container references volume `name`. */
  static uses(rec: ContainerRecord, name: string): boolean {
    return (rec.MountPoints ?? []).some((m) => m.Type === 'volume' && m.Name === name);
  }
}

/** The `Mounts` of inspect and ps, in dockerd's shape. */
export function mountsView(rec: ContainerRecord) {
  return (rec.MountPoints ?? [])
    .filter((m) => !m.Hidden)
    .map((m) => ({
      Type: m.Type,
      ...(m.Type === 'volume' ? { Name: m.Name } : {}),
      Source: m.Source,
      Destination: m.Destination,
      ...(m.Type === 'volume' ? { Driver: m.Driver } : {}),
      Mode: m.Mode,
      RW: m.RW,
      Propagation: m.Propagation,
    }));
}

/**
 * `--volumes-from NAME[:ro|:rw]`: the mount points of another container,
 * shared (never anonymous to this one, so `rm -v` here leaves them), read-only
 * or read-write as asked, else as they are there.
 */
function volumesFrom(entries: string[] | null | undefined, findContainer: (ref: string) => ContainerRecord): MountPoint[] {
  const out = new Map<string, MountPoint>();
  for (const entry of entries ?? []) {
    const [ref = '', mode, ...rest] = entry.split(':');
    if (rest.length || (mode !== undefined && mode !== 'ro' && mode !== 'rw'))
      throw invalidParameter(`invalid mode: ${mode ?? ''}${rest.length ? `:${rest.join(':')}` : ''}`);
    let source: ContainerRecord;
    try {
      source = findContainer(ref);
    } catch (err) {
      throw invalidParameter((err as Error).message, err); // dockerd answers a missing one with a 400
    }
    for (const m of source.MountPoints ?? []) {
      if (m.Type === 'tmpfs' && m.Hidden) continue; // --tmpfs is the other container's own
      out.set(m.Destination, { ...m, RW: mode === undefined ? m.RW : mode === 'rw', Anonymous: false, CopyData: false });
    }
  }
  return [...out.values()];
}
