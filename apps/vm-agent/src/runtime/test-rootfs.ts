/**
 * Test fixture (used by *.test.ts only): a busybox-static root filesystem
 * mounted as an overlay, the way the engine prepares a container's rootfs.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { mount, umount } from './native.js';
import { spawnContainer, type ContainerSpec } from './spawn.js';

const BUSYBOX = '/bin/busybox';

export interface TestRootfs {
  dir: string;
  rootfs: string;
  /** Files for /etc/hosts etc. live here. */
  etc: string;
  cleanup(): void;
}

export function makeRootfs(): TestRootfs {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rootfs-'));
  const lower = join(dir, 'lower');
  mkdirSync(join(lower, 'bin'), { recursive: true });
  mkdirSync(join(lower, 'etc'));
  cpSync(BUSYBOX, join(lower, 'bin/busybox'));
  for (const applet of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (applet && applet !== 'busybox') symlinkSync('busybox', join(lower, 'bin', applet));
  }
  writeFileSync(join(lower, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  for (const d of ['upper', 'work', 'merged', 'etc']) mkdirSync(join(dir, d));
  const rootfs = join(dir, 'merged');
  mount('overlay', rootfs, 'overlay', 0, `lowerdir=${lower},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`);
  return {
    dir,
    rootfs,
    etc: join(dir, 'etc'),
    cleanup() {
      umount(rootfs, ['detach']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function collect(stream: Readable | undefined): Promise<string> {
  if (!stream) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    let out = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (out += d));
    stream.on('end', () => resolve(out));
    stream.on('close', () => resolve(out));
    stream.on('error', reject);
  });
}

/** Docker's default PATH and a HOME, the environment of the tests' containers. */
export const TEST_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'];

/** Runs `sh -c script` as a container on `rootfs` to its end: its output and exit. */
export async function runScript(rootfs: string, script: string, extra: Partial<ContainerSpec> = {}) {
  const p = await spawnContainer({ rootfs, args: ['sh', '-c', script], env: TEST_ENV, ...extra });
  const [stdout, stderr, status] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
  return { stdout, stderr, status, pid: p.pid };
}
