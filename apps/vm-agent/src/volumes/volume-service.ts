/**
 * Named volumes of the `local` driver, as dockerd keeps them:
 *
 *   <data-root>/volumes/<name>/_data        what containers see
 *   <data-root>/volumes/<name>/volume.json  driver, labels, options, CreatedAt
 *
 * The metadata is written atomically after `_data` exists, so a crash leaves
 * either no volume or a whole one (a directory without volume.json, from a
 * crash in between, is loaded with default metadata).
 *
 * Which containers use a volume is the engine's to say (`setUsage`); a volume
 * in use is never removed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, invalidParameter, notFound } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { diskUsage } from '../util/disk-usage.js';

export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/** GET /volumes/{name} as dockerd answers it. */
export interface Volume {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  /** RFC 3339, seconds. */
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string> | null;
  Scope: 'local';
}

interface VolumeMeta {
  Driver: 'local';
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string> | null;
}

export interface CreateVolumeRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumeServiceOptions {
  /** `<data-root>/volumes`. */
  root: string;
  /** Volume events (create, destroy, prune) for the engine's bus. */
  emit?: (ev: { Action: string; id: string; attributes: Record<string, string> }) => void;
}

/** dockerd's rule for volume names (and the error it gives). */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateVolumeName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw invalidParameter(
      `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}

export class VolumeService {
  readonly root: string;
  private readonly volumes = new Map<string, VolumeMeta>();
  private usage: (name: string) => string[] = () => [];
  private readonly emit: NonNullable<VolumeServiceOptions['emit']>;
  /** Per-name creation in flight, so two containers naming a new volume share one. */
  private readonly creating = new Map<string, Promise<Volume>>();

  constructor(opts: VolumeServiceOptions) {
    this.root = opts.root;
    this.emit = opts.emit ?? (() => {});
  }

  static rootFor(dataRoot: string): string {
    return join(dataRoot, 'volumes');
  }

  /** The containers (IDs) that reference a volume, running or not. */
  setUsage(usage: (name: string) => string[]): void {
    this.usage = usage;
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o701 });
    for (const name of await readdir(this.root)) {
      if (!NAME_RE.test(name) || !existsSync(join(this.root, name, '_data'))) continue;
      const meta = await readJsonIfExists<VolumeMeta>(join(this.root, name, 'volume.json'));
      const created = (await lstat(join(this.root, name, '_data'))).mtime;
      this.volumes.set(name, meta ?? { Driver: 'local', CreatedAt: rfc3339Seconds(created), Labels: {}, Options: null });
    }
  }

  /** Where the volume's data lives on the host. */
  dataPath(name: string): string {
    return join(this.root, name, '_data');
  }

  has(name: string): boolean {
    return this.volumes.has(name);
  }

  get(name: string): Volume {
    const meta = this.volumes.get(name);
    if (!meta) throw notFound(`get ${name}: no such volume`);
    return this.view(name, meta);
  }

  list(): Volume[] {
    return [...this.volumes].map(([name, meta]) => this.view(name, meta)).sort((a, b) => a.Name.localeCompare(b.Name));
  }

  inUseBy(name: string): string[] {
    return this.usage(name);
  }

  isAnonymous(name: string): boolean {
    return this.volumes.get(name)?.Labels[ANONYMOUS_LABEL] !== undefined;
  }

  /**
   * Creates a volume, or returns the existing one of that name (as dockerd
   * does for the local driver). No name: an anonymous volume (64 hex digits).
   */
  create(req: CreateVolumeRequest = {}): Promise<Volume> {
    const driver = req.Driver || 'local';
    if (driver !== 'local') throw notFound(`create ${req.Name ?? ''}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const opts = req.DriverOpts ?? {};
    // The local driver's mount options (type/device/o) would need a mount per use; not offered yet.
    for (const k of Object.keys(opts))
      throw invalidParameter(`create ${req.Name ?? ''}: invalid option key: "${k}": this engine's local driver takes no options`);
    const anonymous = !req.Name;
    const name = req.Name || randomBytes(32).toString('hex');
    validateVolumeName(name);
    const existing = this.volumes.get(name);
    if (existing) return Promise.resolve(this.view(name, existing));
    let p = this.creating.get(name);
    if (!p) {
      const labels = { ...(req.Labels ?? {}), ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
      p = this.createNow(name, { Driver: 'local', CreatedAt: rfc3339Seconds(new Date()), Labels: labels, Options: null }).finally(() =>
        this.creating.delete(name),
      );
      this.creating.set(name, p);
    }
    return p;
  }

  private async createNow(name: string, meta: VolumeMeta): Promise<Volume> {
    await mkdir(this.dataPath(name), { recursive: true, mode: 0o755 });
    await writeJsonAtomic(join(this.root, name, 'volume.json'), meta);
    this.volumes.set(name, meta);
    this.emit({ Action: 'create', id: name, attributes: { driver: 'local' } });
    return this.view(name, meta);
  }

  /** Deletes a volume and its data; 409 while a container references it. `force`: a missing volume is not an error. */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    if (!this.volumes.has(name)) {
      if (opts.force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    const users = this.usage(name);
    if (users.length) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    this.volumes.delete(name);
    await rm(join(this.root, name), { recursive: true, force: true });
    this.emit({ Action: 'destroy', id: name, attributes: { driver: 'local' } });
  }

  /** Removes unused volumes `keep` accepts; returns their names and the bytes freed. */
  async prune(keep: (v: Volume) => boolean): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of this.list()) {
      if (!keep(v) || this.usage(v.Name).length) continue;
      const size = await this.size(v.Name);
      await this.remove(v.Name).then(
        () => {
          deleted.push(v.Name);
          reclaimed += size;
        },
        () => {},
      );
    }
    this.emit({ Action: 'prune', id: '', attributes: { reclaimed: String(reclaimed) } });
    return { deleted, reclaimed };
  }

  /** Bytes used by the volume's files (as `du`, counting each inode once). */
  size(name: string): Promise<number> {
    return diskUsage(this.dataPath(name));
  }

  private view(name: string, meta: VolumeMeta): Volume {
    return {
      CreatedAt: meta.CreatedAt,
      Driver: 'local',
      Labels: meta.Labels,
      Mountpoint: this.dataPath(name),
      Name: name,
      Options: meta.Options,
      Scope: 'local',
    };
  }
}

/** "2024-05-01T10:00:00Z", as dockerd shows a volume's CreatedAt. */
function rfc3339Seconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
