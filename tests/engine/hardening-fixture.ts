/**
 * What the hardening-*.test.ts suites share: a snapshot of the engine's
 * state as its API lists it (to prove a refused request changed nothing),
 * a walk of what an agent can leave on the host (mounts, cgroups,
 * veths, container directories, network records) to prove nothing was, and
 * a walk of the image store to prove nothing in it dangles.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Agent } from '../helpers/agent.js';
import { engineRequest } from '../helpers/docker.js';

const sh = promisify(execFile);

/** IDs of every container, image, network and volume, as the API lists them. */
export async function engineState(socket: string): Promise<Record<string, string[]>> {
  const ids = async (path: string, pick: (x: Record<string, unknown>) => string) => {
    const r = await engineRequest(socket, 'GET', path);
    assert.equal(r.status, 200, `GET ${path}: ${r.text()}`);
    const body = r.json<unknown>();
    const list = (Array.isArray(body) ? body : ((body as { Volumes?: unknown[] }).Volumes ?? [])) as Record<string, unknown>[];
    return list.map(pick).sort();
  };
  return {
    containers: await ids('/containers/json?all=1', (c) => `${c.Id as string} ${(c.Names as string[]).join(',')} ${c.State as string}`),
    images: await ids('/images/json?all=1', (i) => `${i.Id as string} ${((i.RepoTags as string[] | null) ?? []).join(',')}`),
    networks: await ids('/networks', (n) => n.Id as string),
    volumes: await ids('/volumes', (v) => v.Name as string),
  };
}

/** Everything of the agent's that is still on the host besides what `keep` (container IDs) may hold. */
export interface Leftovers {
  /** Mount points under the data root. */
  mounts: string[];
  /** cgroup directories of containers that have no record. */
  cgroups: string[];
  /** Interfaces enslaved to the agent's default bridge (none once no container runs). */
  veths: string[];
  /** Container directories without a record the API lists, or records the API does not list. */
  records: string[];
  /** Network-layer entries (endpoints, IPAM addresses) owned by containers that do not exist. */
  network: string[];
}

function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => {
      const [pre, post] = l.split(' - ');
      const fstype = post?.split(' ')[0];
      return fstype === 'cgroup' || fstype === 'cgroup2' ? pre!.split(' ')[4]! : undefined;
    })
    .filter((p): p is string => !!p);
}

export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** The cgroup directories (every hierarchy) of a container ID that exist. */
export function cgroupDirsOf(id: string): string[] {
  return cgroupMounts()
    .map((m) => join(m, 'berth', id))
    .filter((d) => existsSync(d));
}

const readJson = <T>(file: string): T | undefined => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined);

/**
 * Walks the host for what the agent left: `ids` are containers this test
 * made and removed (their cgroups must be gone); the records on disk must
 * be exactly the containers the API lists, running or not.
 */
export async function leftovers(agent: Agent, ids: string[] = []): Promise<Leftovers> {
  const listed = (await engineRequest(agent.socket, 'GET', '/containers/json?all=1')).json<{ Id: string; State: string }[]>();
  const known = new Set(listed.map((c) => c.Id));
  const running = new Set(listed.filter((c) => c.State === 'running' || c.State === 'paused').map((c) => c.Id));
  const containersDir = join(agent.dataRoot, 'containers');
  const onDisk = existsSync(containersDir) ? readdirSync(containersDir).filter((n) => /^[0-9a-f]{64}$/.test(n)) : [];
  const records = [
    ...onDisk.filter((id) => !known.has(id)).map((id) => `dir without a listed record: ${id}`),
    ...[...known].filter((id) => !existsSync(join(containersDir, id, 'config.v2.json'))).map((id) => `listed without config.v2.json: ${id}`),
  ];
  const mounts = mountsUnder(agent.dataRoot).filter((p) => ![...running].some((id) => p.startsWith(join(containersDir, id))));
  const cgroups = [...new Set([...ids, ...onDisk])].filter((id) => !running.has(id)).flatMap(cgroupDirsOf);
  const tag = readJson<{ id: string }>(join(agent.dataRoot, 'engine.json'))?.id.slice(0, 8) ?? '';
  const bridgePorts = await sh('ip', ['-o', 'link', 'show', 'master', `berth-${tag}`]).then(
    (r) =>
      r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(':')[1]!.trim().split('@')[0]!),
    () => [] as string[], // no bridge: nothing attached
  );
  const veths = running.size ? [] : bridgePorts;
  const netContainers = readJson<Record<string, { active: Record<string, { hostIf: string }> }>>(join(agent.dataRoot, 'network/containers.json')) ?? {};
  const ipam = readJson<{ pools: Record<string, { addresses: Record<string, string> }> }>(join(agent.dataRoot, 'network/ipam.json'));
  const network = [
    ...Object.keys(netContainers)
      .filter((id) => !known.has(id))
      .map((id) => `endpoint config of a missing container ${id}`),
    ...Object.entries(netContainers)
      .filter(([id, c]) => !running.has(id) && Object.keys(c.active).length)
      .map(([id]) => `active endpoint of a stopped container ${id}`),
    ...Object.values(ipam?.pools ?? {}).flatMap((p) =>
      Object.entries(p.addresses)
        .filter(([, owner]) => !running.has(owner))
        .map(([addr, owner]) => `address ${addr} held by ${known.has(owner) ? 'stopped' : 'missing'} container ${owner}`),
    ),
  ];
  return { mounts, cgroups, veths, records, network };
}

export const NOTHING_LEFT: Leftovers = { mounts: [], cgroups: [], veths: [], records: [], network: [] };

/** Asserts the host holds nothing of the agent's beyond its listed containers. */
export async function assertNothingLeft(agent: Agent, ids: string[] = []): Promise<void> {
  assert.deepEqual(await leftovers(agent, ids), NOTHING_LEFT);
}

/** Runs `fn` over `items`, at most `limit` at a time; results in input order. */
export async function bounded<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface RecordOnDisk {
  id: string;
  layers: { diffID: string; blob: { digest: string } }[];
  manifests: string[];
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');
const list = async (dir: string) => (existsSync(dir) ? (await readdir(dir)).sort() : []);

/** What the image store holds, sorted, to compare before and after a failure. */
export async function imageStoreState(dataRoot: string): Promise<Record<'blobs' | 'layers' | 'ingest' | 'records', string[]>> {
  const root = join(dataRoot, 'images');
  const ls = async (d: string) => (existsSync(join(root, d)) ? (await readdir(join(root, d))).sort() : []);
  return { blobs: await ls('blobs/sha256'), layers: await ls('layers'), ingest: await ls('ingest'), records: await ls('records') };
}

/**
 * Everything dangling or half made in the image store under `dataRoot`, as
 * sentences: a record without its config, layer blobs, unpacked layers or
 * manifests; a `.tmp-*` layer dir or file, or an ingest file; a blob or unpacked layer
 * no record names; a name that points at no record.
 */
export async function imageStoreProblems(dataRoot: string): Promise<string[]> {
  const root = join(dataRoot, 'images');
  const blobs = new Set(await list(join(root, 'blobs/sha256')));
  const layers = await list(join(root, 'layers'));
  const problems: string[] = [
    ...layers.filter((n) => n.startsWith('.tmp-')).map((n) => `half-unpacked layer dir layers/${n}`),
    ...(await list(join(root, 'ingest'))).map((n) => `ingest file ingest/${n}`),
    ...(await list(root)).filter((n) => n.includes('.tmp-')).map((n) => `half-written file ${n}`),
  ];
  const records = new Set<string>();
  const recs: RecordOnDisk[] = [];
  for (const name of await list(join(root, 'records'))) {
    if (!name.endsWith('.json')) {
      problems.push(`stray file records/${name}`);
      continue;
    }
    const rec = JSON.parse(await readFile(join(root, 'records', name), 'utf8')) as RecordOnDisk;
    records.add(rec.id);
    recs.push(rec);
    const what = `image ${rec.id.slice(7, 19)}`;
    if (!blobs.has(hex(rec.id))) {
      problems.push(`${what}: config blob missing`);
      continue;
    }
    const config = JSON.parse(await readFile(join(root, 'blobs/sha256', hex(rec.id)), 'utf8')) as { rootfs: { diff_ids: string[] } };
    if (JSON.stringify(config.rootfs.diff_ids) !== JSON.stringify(rec.layers.map((l) => l.diffID)))
      problems.push(`${what}: record layers differ from the config's diff_ids`);
    for (const l of rec.layers) {
      if (!blobs.has(hex(l.blob.digest))) problems.push(`${what}: layer blob ${l.blob.digest} missing`);
      const dir = join(root, 'layers', hex(l.diffID));
      if (!existsSync(join(dir, 'layer.json')) || !existsSync(join(dir, 'diff'))) problems.push(`${what}: unpacked layer ${l.diffID} missing`);
    }
    for (const m of rec.manifests) if (!blobs.has(hex(m))) problems.push(`${what}: manifest blob ${m} missing`);
  }
  // Nothing without an owner: the start-up collection and a failed pull's clean-up remove what no record names.
  const named = new Set(recs.flatMap((r) => [r.id, ...r.manifests, ...r.layers.map((l) => l.blob.digest)].map(hex)));
  const unpackedNamed = new Set(recs.flatMap((r) => r.layers.map((l) => hex(l.diffID))));
  problems.push(...[...blobs].filter((b) => !named.has(b)).map((b) => `blob no image names: blobs/sha256/${b}`));
  problems.push(...layers.filter((n) => /^[0-9a-f]{64}$/.test(n) && !unpackedNamed.has(n)).map((n) => `unpacked layer no image names: layers/${n}`));
  const refsFile = join(root, 'repositories.json');
  const refs = existsSync(refsFile) ? (JSON.parse(await readFile(refsFile, 'utf8')) as { refs: Record<string, string> }).refs : {};
  for (const [ref, id] of Object.entries(refs)) if (!records.has(id)) problems.push(`name ${ref} points at no record (${id})`);
  return problems;
}

/** The image store walks clean, and every image the API lists inspects with all its layers. */
export async function assertImagesWhole(agent: Agent, what: string): Promise<void> {
  assert.deepEqual(await imageStoreProblems(agent.dataRoot), [], `${what}: image store`);
  const images = (await engineRequest(agent.socket, 'GET', '/images/json?all=1')).json<{ Id: string }[]>();
  for (const img of images) {
    const r = await engineRequest(agent.socket, 'GET', `/images/${img.Id}/json`);
    assert.equal(r.status, 200, `${what}: ${img.Id} listed but not inspectable: ${r.text()}`);
    const rec = JSON.parse(await readFile(join(agent.dataRoot, 'images/records', `${hex(img.Id)}.json`), 'utf8')) as RecordOnDisk;
    assert.equal(r.json<{ RootFS: { Layers: string[] } }>().RootFS.Layers.length, rec.layers.length, `${what}: ${img.Id} layers`);
  }
}
