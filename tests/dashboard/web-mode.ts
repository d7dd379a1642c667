/**
 * `berth web` as a user starts it, from the source tree (tsx): the real CLI
 * against an engine socket, its printed `Dashboard:` link parsed. Needs the
 * renderer built (`npm run build:renderer`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/agent.js';
import { reap } from '../helpers/reaper.js';

export interface WebMode {
  url: string;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  port: number;
  token: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startWebMode(args: string[], env: Record<string, string> = {}): Promise<WebMode> {
  if (!existsSync(join(REPO_ROOT, 'apps/renderer/dist/index.html'))) {
    throw new Error('apps/renderer/dist is missing: build the renderer first (npm run build:renderer)');
  }
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'apps/main/src/cli.ts'), 'web', '--no-open', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  reap(child);
  let out = '';
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth web printed no Dashboard line in 30 s:\n${out}`)), 30_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`berth web exited (${code}) before serving:\n${out}`)));
  });
  const u = new URL(url);
  return {
    url,
    origin: u.origin,
    port: Number(u.port),
    token: u.searchParams.get('token')!,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
