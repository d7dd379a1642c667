import { existsSync, readFileSync } from 'node:fs';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { RUNTIME } from '../../engine/container-create.js';
import { INIT_BINARY } from '../../engine/container-init.js';
import type { EventBus, EngineEvent } from '../../engine/events.js';
import { invalidParameter } from '../../errors.js';
import type { ImageService } from '../../images/image-service.js';
import { API_VERSION, ENGINE_VERSION, MIN_API_VERSION } from '../version.js';
import { parseFilters, sendJson } from '../http-io.js';
import type { Router } from '../router.js';
import { goArch } from '../../util/go-arch.js';

export interface SystemRoutesDeps {
  engineId: string;
  dataRoot: string;
  images: ImageService;
  events: EventBus;
  /** Counts from the container engine. */
  containerCounts: () => { total: number; running: number; paused: number; stopped: number };
  /** Image summaries for `system df`, as GET /images/json gives them. */
  imageSummaries: (apiVersion: string) => Promise<unknown[]>;
  /** Containers with SizeRw and SizeRootFs for `system df`. */
  containerSummaries?: () => Promise<unknown[]>;
  /** Volumes with UsageData (Size, RefCount) for `system df`. */
  volumeSummaries?: () => Promise<unknown[]>;
}

const UNAME_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };

export function systemRoutes(r: Router, deps: SystemRoutesDeps): void {
  const ping = ({ res, req }: { res: import('node:http').ServerResponse; req: import('node:http').IncomingMessage }) => {
    res.writeHead(200, {
      'API-Version': API_VERSION,
      'Builder-Version': '1',
      'Docker-Experimental': 'false',
      OSType: 'linux',
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : 'OK');
  };
  r.get('/_ping', ping);
  r.head('/_ping', ping);

  r.get('/version', ({ res }) => {
    const details = {
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'berth',
      GoVersion: `node ${process.version}`,
      Os: 'linux',
      Arch: goArch(arch()),
      KernelVersion: release(),
      BuildTime: '',
    };
    sendJson(res, 200, {
      Platform: { Name: 'Berth Engine' },
      Components: [{ Name: 'Engine', Version: ENGINE_VERSION, Details: details }],
      Version: ENGINE_VERSION,
      ...details,
    });
  });

  r.get('/info', ({ res }) => {
    const c = deps.containerCounts();
    sendJson(res, 200, {
      ID: deps.engineId,
      Containers: c.total,
      ContainersRunning: c.running,
      ContainersPaused: c.paused,
      ContainersStopped: c.stopped,
      Images: deps.images.list().length,
      Driver: 'overlay2',
      DriverStatus: [
        ['Backing Filesystem', 'extfs'],
        ['Supports d_type', 'true'],
      ],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: false,
      NFd: 0,
      OomKillDisable: false,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroupVersion(),
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: operatingSystem(),
      OSVersion: osRelease().VERSION_ID ?? '',
      OSType: 'linux',
      Architecture: UNAME_ARCH[arch()] ?? arch(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: {
        AllowNondistributableArtifactsCIDRs: null,
        AllowNondistributableArtifactsHostnames: null,
        InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'],
        IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } },
        Mirrors: null,
      },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      DockerRootDir: deps.dataRoot,
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: ENGINE_VERSION,
      Runtimes: { [RUNTIME]: { path: 'berth-agent' } },
      DefaultRuntime: RUNTIME,
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: INIT_BINARY, // --init runs Berth's own (engine/container-init.ts)
      SecurityOptions: ['name=seccomp,profile=builtin', `name=cgroupns`],
      // As dockerd in no swarm reports it: `docker info` shows "Swarm: inactive".
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      Warnings: [],
    });
  });

  r.get('/system/df', async ({ res, apiVersion }) => {
    sendJson(res, 200, {
      LayersSize: await deps.images.layersSize(),
      Images: await deps.imageSummaries(apiVersion),
      Containers: (await deps.containerSummaries?.()) ?? [],
      Volumes: (await deps.volumeSummaries?.()) ?? [],
      BuildCache: [],
    });
  });

  r.get('/events', ({ req, res, query }) => {
    const filters = parseFilters(query);
    const since = parseEventTime(query.get('since'));
    const until = parseEventTime(query.get('until'));
    const matches = eventFilter(filters);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const send = (ev: EngineEvent) => {
      if (matches(ev)) res.write(JSON.stringify(ev) + '\n');
    };
    if (since !== undefined) deps.events.past(since, until).forEach(send);
    if (until !== undefined && until <= BigInt(Date.now()) * 1_000_000n) {
      res.end();
      return;
    }
    const unsubscribe = deps.events.subscribe((ev) => {
      if (until !== undefined && BigInt(ev.timeNano) > until) return;
      send(ev);
    });
    let timer: NodeJS.Timeout | undefined;
    if (until !== undefined) timer = setTimeout(() => res.end(), Number(until / 1_000_000n) - Date.now());
    // Flush headers now so clients see the stream open before the first event.
    res.flushHeaders();
    req.on('close', () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
    });
  });
}

/** `since`/`until`: Unix seconds with optional fraction (the CLI converts durations). Returns nanoseconds. */
function parseEventTime(v: string | null): bigint | undefined {
  if (v === null || v === '') return undefined;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (!m) throw invalidParameter(`invalid timestamp ${JSON.stringify(v)}: use Unix seconds, optionally with a fraction`);
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

function eventFilter(filters: Map<string, string[]>): (ev: EngineEvent) => boolean {
  const allowed = ['type', 'event', 'image', 'container', 'label', 'network', 'volume', 'scope', 'daemon'];
  for (const k of filters.keys()) if (!allowed.includes(k)) throw invalidParameter(`invalid filter '${k}'`);
  return (ev) => {
    const types = filters.get('type');
    if (types && !types.includes(ev.Type)) return false;
    const actions = filters.get('event');
    if (actions && !actions.some((a) => ev.Action === a || ev.Action.startsWith(`${a}:`))) return false;
    const image = filters.get('image');
    if (image && !image.some((i) => ev.Actor.ID === i || ev.Actor.Attributes.image === i || ev.Actor.Attributes.name === i)) return false;
    const container = filters.get('container');
    if (container && (ev.Type !== 'container' || !container.some((c) => ev.Actor.ID.startsWith(c) || ev.Actor.Attributes.name === c))) return false;
    const labels = filters.get('label');
    if (
      labels &&
      !labels.every((l) => {
        const [k, v] = l.split('=', 2) as [string, string | undefined];
        return v === undefined ? k in ev.Actor.Attributes : ev.Actor.Attributes[k] === v;
      })
    )
      return false;
    return true;
  };
}

function osRelease(): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
    }
    return out;
  } catch {
    return {};
  }
}

function operatingSystem(): string {
  return osRelease().PRETTY_NAME ?? 'Linux';
}

function cgroupVersion(): string {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1';
}
