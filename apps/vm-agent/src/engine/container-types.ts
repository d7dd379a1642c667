import type { MountPoint } from '../volumes/mount-spec.js';
import type { HealthConfig } from './health-rules.js';

/**
 * A container as the engine keeps it on disk: dockerd's field names (the
 * inspect response is built from it), so a record reads like `docker inspect`.
 */

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** The container's Config (docker's container.Config), as merged with the image's. */
export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Image: string;
  Volumes: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
  /** No network at all (`NetworkDisabled`): the container gets only its loopback. */
  NetworkDisabled?: boolean;
  /** API < 1.44 clients' place for the MAC of the container's own network's endpoint. */
  MacAddress?: string;
}

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount: number;
}

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/** The subset of HostConfig the engine acts on; the rest of what the client sent is kept as is. */
export interface HostConfig {
  AutoRemove: boolean;
  RestartPolicy: RestartPolicy;
  LogConfig: LogConfig;
  NetworkMode: string;
  Binds: string[] | null;
  ConsoleSize: [number, number];
  [key: string]: unknown;
}

export interface ContainerState {
  Status: ContainerStatus;
  Pid: number;
  ExitCode: number;
  Error: string;
  OOMKilled: boolean;
  /** RFC 3339 with nanoseconds; Go's zero time when never. */
  StartedAt: string;
  FinishedAt: string;
}

export interface ContainerRecord {
  Id: string;
  /** With the leading slash, as dockerd stores it: "/web". */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  /** The image ID (sha256:...). */
  Image: string;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: ContainerState;
  RestartCount: number;
  /** docker stop / kill (or a policy giving up) until the next start: restart policies stay off. */
  HasBeenManuallyStopped: boolean;
  HasBeenStartedBefore: boolean;
  /** /proc/<pid>/stat start time of the init, to tell our process from a reused pid after a restart. */
  PidStartTime?: string;
  /** Volumes, binds and tmpfs mounts, parents first (container-mounts.ts). */
  MountPoints?: MountPoint[];
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** RFC 3339 with nanosecond digits as Go prints them (we only have ms; the rest are zeros). */
export function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export function timeMs(rfc3339: string): number {
  return rfc3339 === ZERO_TIME ? 0 : Date.parse(rfc3339);
}

export const isActive = (s: ContainerStatus) => s === 'running' || s === 'paused' || s === 'restarting';
