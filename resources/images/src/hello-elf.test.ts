import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isStaticElf } from './busybox.js';
import { helloElf, MAX_MESSAGE_BYTES, type ElfArch } from './hello-elf.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-hello-elf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const hostArch: ElfArch | undefined = process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : undefined;
const QEMU: Record<ElfArch, string> = { amd64: 'qemu-x86_64', arm64: 'qemu-aarch64' };

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const message = 'Hello from a container!\n  (written in one write(2), then exit_group(0))\n你好，容器！\n';

for (const arch of ['amd64', 'arm64'] as const) {
  const native = arch === hostArch;
  const emulated = !native && onPath(QEMU[arch]);
  test(
    `the ${arch} program prints the message and exits 0`,
    { skip: native || emulated ? false : `not an ${arch} machine and no ${QEMU[arch]} on PATH` },
    () => {
      const file = join(dir, `hello-${arch}`);
      writeFileSync(file, helloElf(arch, message));
      chmodSync(file, 0o755);
      const r = native ? spawnSync(file, [], { encoding: 'utf8' }) : spawnSync(QEMU[arch], [file], { encoding: 'utf8' });
      assert.equal(r.error, undefined);
      assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''} ${r.stderr}`);
      assert.equal(r.stdout, message);
    },
  );
}

test('the programs are static, tiny, and their bytes depend only on the message', () => {
  for (const arch of ['amd64', 'arm64'] as const) {
    const elf = helloElf(arch, message);
    assert.ok(isStaticElf(elf), `${arch} has no PT_INTERP`);
    assert.ok(elf.length < 200 + Buffer.byteLength(message), `${arch}: ${elf.length} bytes`);
    assert.ok(elf.equals(helloElf(arch, message)));
    assert.ok(elf.subarray(elf.length - Buffer.byteLength(message)).equals(Buffer.from(message)), 'the message ends the file');
  }
  assert.equal(helloElf('amd64', message).readUInt16LE(18), 62);
  assert.equal(helloElf('arm64', message).readUInt16LE(18), 183);
});

test('an empty or over-long message is refused', () => {
  assert.throws(() => helloElf('amd64', ''), /1 to 4096 bytes/);
  assert.throws(() => helloElf('arm64', 'x'.repeat(MAX_MESSAGE_BYTES + 1)), /1 to 4096 bytes, it is 4097/);
});
