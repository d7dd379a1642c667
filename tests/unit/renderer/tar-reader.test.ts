import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tar from 'tar-stream';
import { modeString, TarReader, type TarEntry } from '../../../apps/renderer/src/lib/tar-reader.js';

/** A real archive from tar-stream (the agent's writer): a folder, a file, a symlink, and a name long enough for a PAX header. */
async function archive(): Promise<Buffer> {
  const pack = tar.pack();
  const long = `dir/${'n'.repeat(150)}/${'m'.repeat(120)}.txt`;
  const mtime = new Date('2026-01-02T03:04:05Z');
  pack.entry({ name: 'dir', type: 'directory', mode: 0o755, mtime });
  pack.entry({ name: 'dir/hello.txt', mode: 0o644, mtime }, 'hello world\n');
  pack.entry({ name: 'dir/link', type: 'symlink', linkname: '../etc/passwd', mode: 0o777, mtime });
  pack.entry({ name: long, mode: 0o4755, mtime }, 'x'.repeat(1000));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function read(bytes: Buffer, step: number, want: (e: TarEntry) => number = () => 0) {
  const entries: TarEntry[] = [];
  const data: number[] = [];
  const reader = new TarReader({
    entry: (e) => {
      entries.push(e);
      return want(e);
    },
    data: (c) => data.push(...c),
  });
  for (let i = 0; i < bytes.length; i += step) reader.push(bytes.subarray(i, i + step));
  return { entries, data: Buffer.from(data).toString(), ended: reader.ended };
}

test('headers of every entry, whatever the chunking, long names included', async () => {
  const bytes = await archive();
  for (const step of [1, 7, 512, 513, bytes.length]) {
    const { entries, ended } = read(bytes, step);
    assert.equal(ended, true);
    assert.deepEqual(
      entries.map((e) => [e.name, e.type, e.size, e.mode, e.linkName]),
      [
        ['dir', 'directory', 0, 0o755, ''],
        ['dir/hello.txt', 'file', 12, 0o644, ''],
        ['dir/link', 'symlink', 0, 0o777, '../etc/passwd'],
        [`dir/${'n'.repeat(150)}/${'m'.repeat(120)}.txt`, 'file', 1000, 0o4755, ''],
      ],
      `step ${step}`,
    );
    assert.equal(entries[1]!.mtime, Date.parse('2026-01-02T03:04:05Z') / 1000);
  }
});

test('data only for the entries asked, and only as much as asked', async () => {
  const bytes = await archive();
  assert.equal(read(bytes, 5, (e) => (e.name === 'dir/hello.txt' ? Infinity : 0)).data, 'hello world\n');
  assert.equal(read(bytes, 5, (e) => (e.name === 'dir/hello.txt' ? 5 : 0)).data, 'hello');
});

test('mode strings as ls prints them', () => {
  assert.equal(modeString('directory', 0o755), 'drwxr-xr-x');
  assert.equal(modeString('symlink', 0o777), 'lrwxrwxrwx');
  assert.equal(modeString('file', 0o4755), '-rwsr-xr-x');
  assert.equal(modeString('file', 0o1644), '-rw-r--r-T');
});
