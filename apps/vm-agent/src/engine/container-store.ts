/**
 * Container records on disk and the names that point at them.
 *
 * Layout: `<data-root>/containers/<id>/config.v2.json` per container (the
 * record), beside its log, writable layer and generated /etc files. Every
 * write replaces the record atomically and writes to one record are applied
 * in call order, so the file always holds the newest state that was saved.
 * Names are unique; the map of names is rebuilt from the records on load.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, invalidParameter, notFound } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import type { ContainerRecord } from './container-types.js';

const ID_RE = /^[a-f0-9]{64}$/;
/** dockerd's rule for names (daemon/names: validContainerNamePattern). */
const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class ContainerStore {
  readonly root: string;
  private readonly byId = new Map<string, ContainerRecord>();
  private readonly byName = new Map<string, string>();
  private readonly writes = new Map<string, Promise<void>>();
  /** Names of containers being created (name -> the new ID): taken from the first await of a create on. */
  private readonly reserved = new Map<string, string>();

  constructor(dataRoot: string) {
    this.root = join(dataRoot, 'containers');
  }

  /** Loads every record; a directory without a readable record is skipped (and reported). */
  async load(warn: (msg: string) => void = () => {}): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o710 });
    for (const id of await readdir(this.root)) {
      if (!ID_RE.test(id)) continue;
      try {
        const rec = await readJsonIfExists<ContainerRecord>(this.recordPath(id));
        if (!rec) {
          warn(`container ${id}: no config.v2.json, removing its directory`);
          await rm(this.dir(id), { recursive: true, force: true });
          continue;
        }
        this.byId.set(rec.Id, rec);
        this.byName.set(rec.Name, rec.Id);
      } catch (err) {
        warn(`container ${id}: unreadable record, left alone: ${(err as Error).message}`);
      }
    }
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  private recordPath(id: string): string {
    return join(this.dir(id), 'config.v2.json');
  }

  list(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** A fresh 64-hex ID that no container has and that is not all digits (dockerd avoids those: they look like numbers). */
  newId(): string {
    for (;;) {
      const id = randomBytes(32).toString('hex');
      if (!/^\d+$/.test(id.slice(0, 12)) && !this.byId.has(id)) return id;
    }
  }

  /** "/name" from "name" or "/name"; refuses what dockerd refuses. */
  static normalizeName(name: string): string {
    if (!NAME_RE.test(name)) throw invalidParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    return name.startsWith('/') ? name : `/${name}`;
  }

  /** Throws dockerd's 409 when `name` ("/x") belongs to another container. */
  checkNameFree(name: string, exceptId?: string): void {
    const owner = this.byName.get(name) ?? this.reserved.get(name);
    if (owner !== undefined && owner !== exceptId) {
      throw conflict(
        `Conflict. The container name "${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  }

  /**
   * Holds `name` for container `id` until the returned function is called,
   * so that of concurrent creates with one name exactly one gets past this
   * point (the others get the 409) before any of them prepares volumes or
   * network endpoints it would have to undo.
   */
  reserveName(name: string, id: string): () => void {
    this.checkNameFree(name);
    this.reserved.set(name, id);
    return () => {
      if (this.reserved.get(name) === id) this.reserved.delete(name);
    };
  }

  /** Adds a new record (its name must be free, or reserved for it) and writes it. */
  async add(rec: ContainerRecord): Promise<void> {
    this.checkNameFree(rec.Name, rec.Id);
    this.byId.set(rec.Id, rec);
    this.byName.set(rec.Name, rec.Id);
    await mkdir(this.dir(rec.Id), { recursive: true, mode: 0o710 });
    await this.save(rec);
  }

  async rename(rec: ContainerRecord, newName: string): Promise<void> {
    this.checkNameFree(newName, rec.Id);
    this.byName.delete(rec.Name);
    rec.Name = newName;
    this.byName.set(newName, rec.Id);
    await this.save(rec);
  }

  /** Writes the record as it is now; concurrent saves of one record land in call order. */
  save(rec: ContainerRecord): Promise<void> {
    const snapshot = structuredClone(rec);
    const prev = this.writes.get(rec.Id) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(() => (this.byId.has(rec.Id) ? writeJsonAtomic(this.recordPath(rec.Id), snapshot) : undefined));
    this.writes.set(rec.Id, next);
    void next
      .finally(() => {
        if (this.writes.get(rec.Id) === next) this.writes.delete(rec.Id);
      })
      .catch(() => {});
    return next;
  }

  /** Forgets the record and deletes its directory (the caller has unmounted what was in it). */
  async remove(rec: ContainerRecord): Promise<void> {
    await this.writes.get(rec.Id)?.catch(() => {});
    this.byId.delete(rec.Id);
    if (this.byName.get(rec.Name) === rec.Id) this.byName.delete(rec.Name);
    await rm(this.dir(rec.Id), { recursive: true, force: true });
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * dockerd's lookup order: a full ID, then an exact name, then a unique ID
   * prefix. An ambiguous prefix is refused rather than guessed.
   */
  find(term: string): ContainerRecord | undefined {
    const full = this.byId.get(term);
    if (full) return full;
    const named = this.byName.get(term.startsWith('/') ? term : `/${term}`);
    if (named) return this.byId.get(named);
    if (!/^[a-f0-9]+$/.test(term)) return undefined;
    const matches = [...this.byId.keys()].filter((id) => id.startsWith(term));
    if (matches.length > 1) throw invalidParameter(`Multiple IDs found with provided prefix: ${term}`);
    return matches.length === 1 ? this.byId.get(matches[0]!) : undefined;
  }

  get(term: string): ContainerRecord {
    const rec = this.find(term);
    if (!rec) throw notFound(`No such container: ${term}`);
    return rec;
  }
}
