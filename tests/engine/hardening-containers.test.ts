/**
 * Containers against hostile images and options: a working directory under
 * /proc/self/fd (runc's CVE-2024-21626 shape, reaching the agent's open
 * files), an image whose /proc is a symlink out of the rootfs, and the
 * agent's file descriptors leaking into `docker run` or `docker exec`.
 * Each is refused or has no effect outside the container.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const sentinel = join(tmpdir(), `berth-sentinel-${randomBytes(4).toString('hex')}`);

after(async () => {
  await rm(sentinel, { recursive: true, force: true });
});

/**
 * The shell's open fds, listed by a child (`ls`) so that listing opens
 * nothing in the shell itself (a `$(...)` or a pipe would).
 */
const FD_LIST = 'ls -l /proc/$$/fd';

/** "N -> target" for every fd but 0, 1 and 2. */
function extraFds(listing: string): string[] {
  return listing
    .split('\n')
    .map((l) => / (\d+) -> (.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => !!m && !['0', '1', '2'].includes(m[1]!))
    .map((m) => `${m[1]} -> ${m[2]}`);
}

describe('hostile working directories and /proc', () => {
  for (const wd of ['/proc/self/fd/3', '/proc/self/fd/4', '/proc/self/fd/5', '/proc/self/fd/7', '/proc/self/cwd/..']) {
    test(`-w ${wd}: never reaches a directory of the host`, async () => {
      await mkdir(sentinel, { recursive: true });
      await writeFile(join(sentinel, 'victim'), 'original\n');
      const r = await fx.docker.run([
        'run',
        '--rm',
        '-w',
        wd,
        fx.image,
        'sh',
        '-c',
        `pwd; ls ..; cat ${sentinel}/victim 2>&1; echo pwned > ../../../../${sentinel.slice(1)}/victim 2>&1; true`,
      ]);
      if (r.code === 0) {
        // The process started: it must see only the container's tree.
        assert.doesNotMatch(r.stdout, /original/, `the host file was readable: ${r.stdout}`);
      } else {
        assert.match(r.stderr, /working directory|chdir|no such file|not a directory/i, r.stderr);
      }
      assert.equal(readFileSync(join(sentinel, 'victim'), 'utf8'), 'original\n');
      assert.deepEqual(readdirSync(sentinel), ['victim']);
    });
  }

  test('WORKDIR /proc/self/fd/N from the image config, and exec -w: refused or confined', async () => {
    const img = await fx.extraImage('wd-proc', { workingDir: '/proc/self/fd/4' });
    const r = await fx.docker.run(['run', '--rm', img, 'sh', '-c', 'ls -la /proc/self/cwd/ 2>&1 | head -5; readlink /proc/self/cwd']);
    if (r.code === 0) assert.doesNotMatch(r.stdout, /berth|data|images|\/tmp\//, r.stdout);
    await fx.docker.ok(['run', '-d', '--name', 'wd-exec', fx.image, 'sleep', '1000']);
    try {
      for (const fd of [3, 4, 5, 8]) {
        const e = await fx.docker.run(['exec', '-w', `/proc/self/fd/${fd}`, 'wd-exec', 'sh', '-c', 'readlink /proc/self/cwd']);
        if (e.code === 0) assert.doesNotMatch(e.stdout, /berth|\/tmp\/|\/data\//, `exec got a cwd outside the container: ${e.stdout}`);
      }
    } finally {
      await fx.docker.run(['rm', '-f', 'wd-exec']);
    }
  });

  test('an image whose /proc is a symlink out of the rootfs: refused or confined, the host untouched', async () => {
    await mkdir(sentinel, { recursive: true });
    await writeFile(join(sentinel, 'victim'), 'original\n');
    const { buildBusyboxImage, makeLayer, assembleImage, pushImage } = await import('../helpers/test-images.js');
    const base = await buildBusyboxImage({ layerCount: 1 });
    for (const [i, target] of [sentinel, `../../../../../..${sentinel}`, '/'].entries()) {
      // The base layer has a /proc directory: the top layer replaces it with a symlink.
      const top = await makeLayer([
        { path: 'proc', type: 'whiteout' },
        { path: 'proc', type: 'symlink', target },
      ]);
      const image = assembleImage([base.layers[0]!, top]);
      await pushImage({ url: fx.reg.url }, `test/proclink${i}`, 'latest', image);
      const ref = `${fx.reg.domain}/test/proclink${i}:latest`;
      const pulled = await fx.docker.run(['pull', ref]);
      if (pulled.code !== 0) continue; // refused at pull: fine
      const r = await fx.docker.run(['run', '--rm', ref, 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; ls /proc | head -3']);
      assert.equal(readFileSync(join(sentinel, 'victim'), 'utf8'), 'original\n');
      assert.deepEqual(readdirSync(sentinel).sort(), ['victim'], `target ${target}: proc was mounted onto the host directory`);
      assert.notEqual(r.code, 0, `target ${target}: the container ran without its /proc: ${r.stdout}`);
      assert.match(r.stderr, /\/proc in the image is a symlink/, r.stderr);
    }
    // The host's /proc is still the host's.
    assert.match(readFileSync('/proc/self/cmdline', 'utf8'), /node/);
  });
});

describe('file descriptors of the agent', () => {
  test('docker run: the process has only stdin, stdout and stderr', async () => {
    for (const args of [[], ['-i'], ['-t'], ['-d']]) {
      const name = `fds-${args.join('') || 'plain'}`.replace(/-+$/, '').replace('--', '-');
      const r = args.includes('-d')
        ? await (async () => {
            await fx.docker.ok(['run', '-d', '--name', name, fx.image, 'sh', '-c', `${FD_LIST}; sleep 1000`]);
            for (let i = 0; i < 100; i++) {
              const logs = await fx.docker.ok(['logs', name]);
              if (/ 2 -> /.test(logs.stdout)) return logs;
              await new Promise((res) => setTimeout(res, 50));
            }
            return fx.docker.ok(['logs', name]);
          })()
        : await fx.docker.ok(['run', '--rm', ...args, '--name', name, fx.image, 'sh', '-c', FD_LIST], { input: '' });
      assert.deepEqual(extraFds(r.stdout.replace(/\r/g, '')), [], `run ${args.join(' ')} inherited: ${r.stdout}`);
    }
  });

  test('docker exec: the process has only stdin, stdout and stderr', async () => {
    const name = 'fds-exec';
    await fx.docker.ok(['run', '-d', '--name', name, fx.image, 'sleep', '1000']);
    try {
      for (const args of [[], ['-i'], ['-t'], ['-u', 'nobody']]) {
        const r = await fx.docker.ok(['exec', ...args, name, 'sh', '-c', FD_LIST], { input: '' });
        assert.deepEqual(extraFds(r.stdout.replace(/\r/g, '')), [], `exec ${args.join(' ')} inherited: ${r.stdout}`);
      }
      // Nor does pid 1 see any: no fd of the agent stays open in the container's init.
      const init = await fx.docker.ok(['exec', name, 'sh', '-c', FD_LIST.replace('$$', '1')]);
      const extra = extraFds(init.stdout);
      assert.deepEqual(extra, [], `the container init holds: ${init.stdout}`);
    } finally {
      await fx.docker.run(['rm', '-f', name, 'fds-d']);
    }
  });
});
