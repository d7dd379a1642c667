/**
 * The busybox the images are built on: Debian's busybox-static package,
 * fetched with the ordinary apt client (`apt-get download`, no install, no
 * root) and unpacked with `dpkg-deb -x` into a cache, so the build does not
 * depend on what the build machine has installed. Where apt cannot fetch it
 * (not Debian, offline), the machine's own /bin/busybox is used if it is
 * statically linked, and the result says so: its version then decides the
 * image IDs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { candidates, fetchPackage } from '../../vm/lib/apt.mjs';

export interface Busybox {
  binary: Buffer;
  /** `1:1.35.0-4+deb12u1+b1`, or what the host binary reports. */
  version: string;
  source: 'debian-package' | 'host';
  /** Where it came from: the .deb, or /bin/busybox. */
  origin: string;
}

const PACKAGE = 'busybox-static';
const HOST_BUSYBOX = '/bin/busybox';

/** The Debian architecture of the build machine (amd64, arm64, ...). */
export function debianArch(): string {
  try {
    return execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  } catch (err) {
    throw new Error(`dpkg --print-architecture failed (${(err as Error).message}): the images are built on Debian or Ubuntu`);
  }
}

/** Downloads (unless cached) and unpacks busybox-static with the VM build's apt helpers; returns its /bin/busybox. */
function fromPackage(cacheDir: string): Busybox {
  const c = candidates([PACKAGE]).get(PACKAGE)!;
  const { root, deb, version } = fetchPackage(c, cacheDir);
  return { binary: readFileSync(join(root, 'bin/busybox')), version, source: 'debian-package', origin: deb };
}

/** True for an ELF executable with no PT_INTERP (it needs no dynamic loader). */
export function isStaticElf(b: Buffer): boolean {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return false; // 64-bit little-endian only
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > b.length) return false;
    if (b.readUInt32LE(at) === 3) return false; // PT_INTERP
  }
  return true;
}

export function getBusybox(cacheDir: string, log: (line: string) => void = () => {}): Busybox {
  let bb: Busybox;
  try {
    bb = fromPackage(cacheDir);
  } catch (err) {
    if (!existsSync(HOST_BUSYBOX)) {
      throw new Error(`cannot get busybox: ${(err as Error).message}; and ${HOST_BUSYBOX} does not exist (install busybox-static)`);
    }
    log(`warning: ${(err as Error).message}; using ${HOST_BUSYBOX} instead (its version decides the image IDs)`);
    const binary = readFileSync(HOST_BUSYBOX);
    const version = /BusyBox v(\S+)/.exec(binary.toString('latin1'))?.[1] ?? 'unknown';
    bb = { binary, version, source: 'host', origin: HOST_BUSYBOX };
  }
  if (!isStaticElf(bb.binary)) throw new Error(`${bb.origin}: busybox is not a static 64-bit ELF executable; images need busybox-static`);
  return bb;
}
