// Writes a cpio archive in the "newc" format the kernel unpacks as an
// initramfs. Byte-for-byte reproducible: the caller gives entries in any
// order; they are sorted by path, inode numbers are assigned in that order,
// and every entry gets the same owner (0:0) and mtime.
import { gzipSync } from 'node:zlib';

/**
 * @typedef {{ path: string, type: 'dir' } & { mode?: number }} DirEntry
 * @typedef {{ path: string, type: 'file', data: Buffer, mode: number }} FileEntry
 * @typedef {{ path: string, type: 'symlink', target: string }} SymlinkEntry
 * @typedef {{ path: string, type: 'char', major: number, minor: number, mode: number }} CharEntry
 * @typedef {DirEntry | FileEntry | SymlinkEntry | CharEntry} Entry
 */

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n) {
  return n.toString(16).padStart(8, '0');
}

function pad4(len) {
  return (4 - (len % 4)) % 4;
}

/**
 * @param {Entry[]} entries paths relative to the archive root, no leading '/'
 * @param {number} mtime seconds since the epoch, written on every entry
 * @returns {Buffer} the uncompressed archive
 */
export function makeCpio(entries, mtime) {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].path === sorted[i - 1].path) throw new Error(`cpio: duplicate entry ${sorted[i].path}`);
  }
  const chunks = [];
  let ino = 1;
  const push = (name, mode, nlink, data, rdevMajor = 0, rdevMinor = 0) => {
    const nameBuf = Buffer.from(name + '\0');
    const header =
      '070701' +
      hex8(ino++) +
      hex8(mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(nlink) +
      hex8(mtime) +
      hex8(data.length) +
      hex8(0) +
      hex8(0) + // dev major/minor
      hex8(rdevMajor) +
      hex8(rdevMinor) +
      hex8(nameBuf.length) +
      hex8(0); // check
    chunks.push(Buffer.from(header, 'ascii'), nameBuf, Buffer.alloc(pad4(110 + nameBuf.length)));
    chunks.push(data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of sorted) {
    switch (e.type) {
      case 'dir':
        push(e.path, S_IFDIR | (e.mode ?? 0o755), 2, Buffer.alloc(0));
        break;
      case 'file':
        push(e.path, S_IFREG | e.mode, 1, e.data);
        break;
      case 'symlink':
        push(e.path, S_IFLNK | 0o777, 1, Buffer.from(e.target));
        break;
      case 'char':
        push(e.path, S_IFCHR | e.mode, 1, Buffer.alloc(0), e.major, e.minor);
        break;
    }
  }
  ino = 0;
  push('TRAILER!!!', 0, 1, Buffer.alloc(0));
  return Buffer.concat(chunks);
}

/** gzip without a name or timestamp in the header (what `gzip -n` does). */
export function gzipReproducible(buf) {
  // zlib's gzip wrapper writes mtime 0 and no file name; the OS byte is fixed
  // per platform, and the build runs on Linux only.
  return gzipSync(buf, { level: 6 });
}
