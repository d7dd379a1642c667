/**
 * POST /build: the classic builder API the docker CLI uses without BuildKit
 * (`DOCKER_BUILDKIT=0 docker build`, or a CLI without buildx). The body is
 * the context tar; the answer streams JSON lines (`{"stream"}`, `{"aux"}`,
 * pull progress, and `{"errorDetail","error"}` once output has started).
 * POST /build/prune forgets the layer cache (`docker builder prune`).
 */
import type { IncomingMessage } from 'node:http';
import type { Builder, BuildOptions } from '../../build/builder.js';
import { invalidParameter } from '../../errors.js';
import { registryDomain } from '../../images/image-service.js';
import type { RegistryCredentials } from '../../images/registry-client.js';
import { base64JsonHeader, credentialsOf } from '../registry-auth-header.js';
import { JsonLines, queryBool, sendJson } from '../http-io.js';
import type { Router } from '../router.js';
import { goArch } from '../../util/go-arch.js';

export function buildRoutes(r: Router, builder: Builder): void {
  r.post('/build', async ({ req, res, query }) => {
    if (query.get('remote')) throw invalidParameter('building from a remote context (a Git or tarball URL) is not supported: build from a local directory');
    if (query.get('version') === '2') throw invalidParameter('this engine has no BuildKit: build with DOCKER_BUILDKIT=0 (the classic builder)');
    refuseUnapplied(query);
    const credentials = registryConfigFrom(req);
    const out = new JsonLines(res);
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      await builder.build(
        req,
        {
          tags: query.getAll('t').filter((t) => t !== ''),
          dockerfile: query.get('dockerfile') ?? '',
          buildArgs: jsonParam<Record<string, string | null>>(query, 'buildargs'),
          labels: jsonParam<Record<string, string>>(query, 'labels'),
          ...(query.get('target') ? { target: query.get('target')! } : {}),
          noCache: queryBool(query, 'nocache'),
          pull: queryBool(query, 'pull'),
          run: runOptions(query),
          quiet: queryBool(query, 'q'),
          credentials: (domain) => credentials.get(domain),
          signal: abort.signal,
        },
        (m) => out.write(m),
      );
    } catch (err) {
      if (!out.hasStarted) throw err;
      out.error(err);
    }
    out.end();
  });

  r.post('/build/prune', async ({ res }) => {
    const deleted = await builder.cache.clear();
    sendJson(res, 200, { CachesDeleted: deleted, SpaceReclaimed: 0 });
  });
}

/**
 * What the classic builder's RUN containers take from the query, as dockerd
 * passes it on: --add-host (repeated or comma-joined), --network, the
 * resource limits, --ulimit, --shm-size, --isolation, --cgroup-parent (the
 * container create checks and applies each, or refuses it by name), and
 * --rm/--force-rm.
 */
function runOptions(q: URLSearchParams): NonNullable<BuildOptions['run']> {
  const num = (name: string) => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw invalidParameter(`invalid ${name}: ${JSON.stringify(v)} is not a whole number`);
    return n;
  };
  const extraHosts = q
    .getAll('extrahosts')
    .flatMap((v) => v.split(','))
    .filter((v) => v !== '');
  const network = q.get('networkmode') ?? '';
  const ulimits = q.get('ulimits');
  const hostConfig: Record<string, unknown> = {
    ...(extraHosts.length ? { ExtraHosts: extraHosts } : {}),
    ...(network && network !== 'default' ? { NetworkMode: network } : {}),
    Memory: num('memory'),
    MemorySwap: num('memswap'),
    CpuShares: num('cpushares'),
    CpuPeriod: num('cpuperiod'),
    CpuQuota: num('cpuquota'),
    ShmSize: num('shmsize'),
    CpusetCpus: q.get('cpusetcpus') || undefined,
    CpusetMems: q.get('cpusetmems') || undefined,
    Isolation: q.get('isolation') || undefined,
    CgroupParent: q.get('cgroupparent') || undefined,
    ...(ulimits && ulimits !== 'null' ? { Ulimits: jsonArray(ulimits, 'ulimits') } : {}), // the 20.10 CLI sends null
  };
  for (const k of Object.keys(hostConfig)) if (hostConfig[k] === undefined) delete hostConfig[k];
  const remove = queryBool(q, 'forcerm') ? 'always' : q.get('rm') === null || queryBool(q, 'rm') ? 'on-success' : 'never';
  return { hostConfig, remove };
}

function jsonArray(raw: string, name: string): unknown[] {
  try {
    const v: unknown = JSON.parse(raw);
    if (Array.isArray(v)) return v;
  } catch {
    // fall through
  }
  throw invalidParameter(`invalid ${name}: it must be a JSON array`);
}

/** What the classic builder cannot do here is refused by name rather than ignored. */
function refuseUnapplied(q: URLSearchParams): void {
  if (queryBool(q, 'squash'))
    throw invalidParameter("squash: Berth's builder does not squash layers (an experimental dockerd feature); build without --squash");
  if (q.get('outputs')) throw invalidParameter('outputs: build outputs are a BuildKit feature; this engine has the classic builder only');
  const cacheFrom = q.get('cachefrom');
  if (cacheFrom && cacheFrom !== '[]')
    throw invalidParameter("cachefrom: Berth's builder does not take cache from other images yet; build without --cache-from");
  const platform = q.get('platform');
  const own = `linux/${goArch()}`;
  if (platform && platform !== own && platform !== 'linux') throw invalidParameter(`platform ${platform}: this engine builds for ${own} only`);
}

function jsonParam<T extends Record<string, unknown>>(q: URLSearchParams, name: string): T {
  const raw = q.get(name);
  if (!raw) return {} as T;
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as T;
  } catch {
    // fall through
  }
  throw invalidParameter(`invalid ${name}: it must be a JSON object`);
}

/** X-Registry-Config: base64 JSON of {registry: auth config}, the CLI's stored logins; keyed by domain here. */
function registryConfigFrom(req: IncomingMessage): Map<string, RegistryCredentials> {
  const out = new Map<string, RegistryCredentials>();
  const parsed = base64JsonHeader(req, 'x-registry-config', 'X-Registry-Config');
  if (typeof parsed !== 'object' || parsed === null) return out;
  for (const [server, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value !== 'object' || value === null) continue;
    const creds = credentialsOf(value as Record<string, unknown>);
    if (creds) out.set(registryDomain(server), creds);
  }
  return out;
}
