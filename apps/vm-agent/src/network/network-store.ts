/**
 * Network records on disk, one JSON file per network under
 * `<root>/networks/`, and lookup by id, name or id prefix as dockerd does.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { forbidden, invalidParameter, notFound } from '../errors.js';
import { isAtomicTempName, readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import type { NetworkRecord } from './network-types.js';

export class NetworkStore {
  private readonly byId = new Map<string, NetworkRecord>();
  private readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'networks');
  }

  async load(): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (isAtomicTempName(name)) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      const rec = await readJsonIfExists<NetworkRecord>(join(this.dir, name));
      if (rec?.Id) this.byId.set(rec.Id, rec);
    }
  }

  all(): NetworkRecord[] {
    return [...this.byId.values()].sort((a, b) => a.Created.localeCompare(b.Created));
  }

  get(id: string): NetworkRecord | undefined {
    return this.byId.get(id);
  }

  byName(name: string): NetworkRecord | undefined {
    return this.all().find((n) => n.Name === name);
  }

  /** By full id, exact name, then unique id prefix; 404 `network x not found`. */
  resolve(ref: string): NetworkRecord {
    const found = this.byId.get(ref) ?? this.byName(ref);
    if (found) return found;
    const prefixed = ref ? this.all().filter((n) => n.Id.startsWith(ref)) : [];
    if (prefixed.length === 1) return prefixed[0]!;
    if (prefixed.length > 1) throw invalidParameter(`network ${ref} is ambiguous (${prefixed.length} matches found on id prefix); use a longer id or the name`);
    throw notFound(`network ${ref} not found`);
  }

  async save(rec: NetworkRecord): Promise<void> {
    await writeJsonAtomic(join(this.dir, `${rec.Id}.json`), rec);
    this.byId.set(rec.Id, rec);
  }

  async remove(rec: NetworkRecord): Promise<void> {
    if (rec.predefined) throw forbidden(`${rec.Name} is a pre-defined network and cannot be removed`);
    await rm(join(this.dir, `${rec.Id}.json`), { force: true });
    this.byId.delete(rec.Id);
  }
}
