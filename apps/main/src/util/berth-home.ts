/**
 * `$BERTH_HOME`, where Berth keeps everything it writes on the host, and the
 * address of the host Docker socket under it.
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** `$BERTH_HOME`, default `~/.berth`. */
export function berthHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.BERTH_HOME || join(homedir(), '.berth'));
}

/**
 * Where the host socket of the engine under `home` listens, and the
 * DOCKER_HOST that reaches it. Unix: `home/run/docker.sock`. Windows: a
 * named pipe (the docker CLI's `npipe://` scheme; `unix://` is not what
 * Windows clients use), named after `home` so that two Berth homes (a test
 * run beside the user's) each get their own.
 */
export function hostSocketAddress(home: string, platform: NodeJS.Platform = process.platform): { path: string; dockerHost: string } {
  if (platform === 'win32') {
    // Windows paths are case-insensitive: C:\Users\A and c:\users\a are one home.
    const name = `berth_engine-${createHash('sha256').update(home.toLowerCase()).digest('hex').slice(0, 8)}`;
    return { path: `\\\\.\\pipe\\${name}`, dockerHost: `npipe:////./pipe/${name}` };
  }
  const path = join(home, 'run', 'docker.sock');
  return { path, dockerHost: `unix://${path}` };
}

/** `\\.\pipe\NAME`: a Windows named pipe, which has no file to make, clean up or chmod. */
export function isNamedPipe(path: string): boolean {
  return /^\\\\[.?]\\pipe\\/i.test(path);
}
