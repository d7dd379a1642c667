/**
 * The subset of the Docker Engine API shapes Berth's host side reads and
 * writes (field names as in the API reference): the dashboard's views, and
 * main's port forwarder. Each shape is written here once.
 */

/** One entry of a listed container's `Ports` (`GET /containers/json`, what `docker ps` shows). */
export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: 'tcp' | 'udp' | 'sctp';
}

/** One host address for a container port: `HostConfig.PortBindings` (asked for) and `NetworkSettings.Ports` (given). */
export interface PortBinding {
  HostIp: string;
  /** A port, a range (`9000-9010`) or empty (the engine picks) when asked for; the port when given. */
  HostPort: string;
}

/** `"80/tcp"` -> its host bindings; null for a port exposed but not published. */
export type PortMap = Record<string, PortBinding[] | null>;

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: Port[];
  State: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Status: string;
  Labels?: Record<string, string>;
}

export interface ImageSummary {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  /** -1 when the engine did not count. */
  Containers: number;
  Labels?: Record<string, string> | null;
}

export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

export interface EngineEvent {
  Type: 'container' | 'image' | 'network' | 'volume' | 'daemon';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
}

export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[];
}

export interface ImagePruneResponse {
  ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null;
  SpaceReclaimed: number;
}

/** GET /containers/{id}/json, the fields the detail view reads (the Inspect tab shows all of it). */
export interface ContainerInspect {
  Id: string;
  Name: string;
  Created: string;
  Image: string;
  State: {
    Status: ContainerSummary['State'];
    Running: boolean;
    Paused: boolean;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
    Error?: string;
  };
  Config: { Image: string; Tty: boolean; Cmd: string[] | null; Entrypoint: string[] | null; Env: string[] | null };
  NetworkSettings?: { Ports?: PortMap | null };
  [more: string]: unknown;
}

export interface NetworkSummary {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  Internal?: boolean;
  IPAM?: { Driver?: string; Config?: { Subnet?: string; Gateway?: string }[] | null };
  Containers?: Record<string, { Name: string; IPv4Address?: string }> | null;
  Labels?: Record<string, string> | null;
}

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Scope?: string;
  Labels?: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumeList {
  Volumes: Volume[] | null;
  Warnings?: string[] | null;
}
