/**
 * The API's views of a container record: `docker inspect` (GET
 * /containers/{id}/json) and the `docker ps` summary, with dockerd's field
 * names and shapes. Networking and mounts are empty until those parts land.
 */
import { join } from 'node:path';
import { RUNTIME } from '../../engine/container-create.js';
import type { ContainerService } from '../../engine/containers.js';
import type { ContainerRecord } from '../../engine/container-types.js';
import { statusText } from '../../engine/human-duration.js';
import { healthSuffix, type Health } from '../../engine/health-rules.js';
import { mountsView } from '../../engine/container-mounts.js';
import { rootfsPaths } from '../../engine/rootfs.js';

export function commandLine(c: ContainerRecord): string {
  return c.Args.length ? `${c.Path} ${c.Args.join(' ')}` : c.Path;
}

function networkMode(c: ContainerRecord): string {
  return c.HostConfig.NetworkMode === 'default' ? 'bridge' : c.HostConfig.NetworkMode;
}

export function containerInspect(svc: ContainerService, c: ContainerRecord, execIds: string[], health?: Health) {
  const dir = svc.store.dir(c.Id);
  const s = c.State.Status;
  const paths = rootfsPaths(dir);
  const image = svc.images.list().find((i) => i.id === c.Image);
  const lower = image ? [...svc.images.layerDirs(image)].reverse().join(':') : '';
  return {
    Id: c.Id,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: {
      Status: s,
      Running: s === 'running' || s === 'paused' || s === 'restarting',
      Paused: s === 'paused',
      Restarting: s === 'restarting',
      OOMKilled: c.State.OOMKilled,
      Dead: s === 'dead',
      Pid: c.State.Pid,
      ExitCode: c.State.ExitCode,
      Error: c.State.Error,
      StartedAt: c.State.StartedAt,
      FinishedAt: c.State.FinishedAt,
      ...(health ? { Health: health } : {}),
    },
    Image: c.Image,
    ResolvConfPath: join(dir, 'resolv.conf'),
    HostnamePath: join(dir, 'hostname'),
    HostsPath: join(dir, 'hosts'),
    LogPath: c.HostConfig.LogConfig.Type === 'json-file' ? svc.logPath(c) : '',
    Name: c.Name,
    RestartCount: c.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    HostConfig: { ...c.HostConfig, Runtime: c.HostConfig.Runtime || RUNTIME }, // records made before Runtime was stored
    GraphDriver: {
      Data: { LowerDir: lower, UpperDir: paths.upper, WorkDir: paths.work, MergedDir: paths.target },
      Name: 'overlay2',
    },
    Mounts: mountsView(c),
    Config: c.Config,
    NetworkSettings: networkSettings(svc, c),
  };
}

/** NetworkSettings as dockerd shows it; the top-level address fields mirror the default bridge's endpoint. */
function networkSettings(svc: ContainerService, c: ContainerRecord) {
  const view = svc.network?.view?.(c);
  const bridge = view?.Networks.bridge;
  return {
    Bridge: '',
    SandboxID: '',
    SandboxKey: c.State.Pid ? `/proc/${c.State.Pid}/ns/net` : '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: view?.Ports ?? {},
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: '',
    Gateway: bridge?.Gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.IPAddress ?? '',
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: bridge?.MacAddress ?? '',
    Networks: view?.Networks ?? {
      [networkMode(c)]: {
        IPAMConfig: null,
        Links: null,
        Aliases: null,
        MacAddress: '',
        DriverOpts: null,
        NetworkID: '',
        EndpointID: '',
        Gateway: '',
        IPAddress: '',
        IPPrefixLen: 0,
        IPv6Gateway: '',
        GlobalIPv6Address: '',
        GlobalIPv6PrefixLen: 0,
        DNSNames: null,
      },
    },
  };
}

export function containerSummary(c: ContainerRecord, svc?: ContainerService, health?: Health) {
  const view = svc?.network?.view?.(c);
  return {
    Id: c.Id,
    Names: [c.Name],
    Image: c.Config.Image,
    ImageID: c.Image,
    Command: commandLine(c),
    Created: Math.floor(Date.parse(c.Created) / 1000),
    Ports: view?.summaryPorts ?? [],
    Labels: c.Config.Labels,
    State: c.State.Status,
    Status: statusText(c) + (c.State.Status === 'running' ? healthSuffix(health) : ''),
    HostConfig: { NetworkMode: networkMode(c) },
    NetworkSettings: { Networks: view?.Networks ?? {} },
    Mounts: mountsView(c),
  };
}

/** SizeRw (the writable layer) and SizeRootFs (that plus the image), for `size=1` on ps and inspect and for `system df`. */
export async function containerSizes(svc: ContainerService, c: ContainerRecord): Promise<{ SizeRw: number; SizeRootFs: number }> {
  const rw = await svc.sizeRw(c);
  const image = svc.images.list().find((i) => i.id === c.Image);
  return { SizeRw: rw, SizeRootFs: rw + (image?.size ?? 0) };
}
