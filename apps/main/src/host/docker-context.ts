/**
 * The `berth` docker context, so `docker context use berth` points the
 * user's docker CLI at Berth's host socket.
 *
 * Written the way the CLI stores contexts, without running it (the CLI may
 * be installed later, and we must not depend on it to start):
 * `$DOCKER_CONFIG/contexts/meta/<sha256 of the name>/meta.json`, DOCKER_CONFIG
 * defaulting to `~/.docker`. An existing context of that name is updated in
 * place (its other endpoints and metadata kept); the current context is not
 * switched.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';

export interface DockerContextOptions {
  /** `unix:///...` of the host socket. */
  host: string;
  name?: string;
  description?: string;
  /** Default: $DOCKER_CONFIG or ~/.docker. */
  dockerConfigDir?: string;
}

interface ContextMeta {
  Name: string;
  Metadata?: Record<string, unknown>;
  Endpoints?: Record<string, Record<string, unknown>>;
}

export function contextMetaPath(name: string, dockerConfigDir: string): string {
  return join(dockerConfigDir, 'contexts', 'meta', createHash('sha256').update(name).digest('hex'), 'meta.json');
}

/** Creates or updates the context; returns the meta.json path. */
export function ensureDockerContext(opts: DockerContextOptions): string {
  const name = opts.name ?? 'berth';
  const dir = opts.dockerConfigDir ?? (process.env.DOCKER_CONFIG || join(homedir(), '.docker'));
  const path = contextMetaPath(name, dir);
  let meta: ContextMeta = { Name: name };
  try {
    meta = JSON.parse(readFileSync(path, 'utf8')) as ContextMeta;
  } catch {
    // none yet (or unreadable: rewritten below)
  }
  const next: ContextMeta = {
    ...meta,
    Name: name,
    Metadata: { ...meta.Metadata, Description: opts.description ?? 'Berth (containers in the Berth VM)' },
    Endpoints: { ...meta.Endpoints, docker: { Host: opts.host, SkipTLSVerify: false } },
  };
  // The CLI's own folders are 0755 (the atomic writer would make a missing one 0700).
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o755 });
  writeFileAtomic(path, JSON.stringify(next), 0o644);
  return path;
}
