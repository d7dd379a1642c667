/** The subset of the Docker Engine API shapes the dashboard reads (field names as in the API reference). */

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: 'tcp' | 'udp' | 'sctp';
}

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
