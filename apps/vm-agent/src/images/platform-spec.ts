/**
 * Platform specifiers (`linux/arm64/v8`, `linux`, `arm64`) read as
 * containerd's platforms.Parse reads them for dockerd, normalized the same
 * way (x86_64 is amd64, aarch64 is arm64, arm64's v8 is its default), with
 * its error words, which dockerd passes on.
 */
import { invalidParameter } from '../errors.js';
import { enginePlatform, type Platform } from './manifest.js';

const COMPONENT = /^[A-Za-z0-9_-]+$/;
const KNOWN_OS = new Set('aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris windows zos'.split(' '));
const KNOWN_ARCH = new Set(
  '386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm'.split(
    ' ',
  ),
);

function normalizeOS(os: string): string {
  const o = os.toLowerCase();
  return o === 'macos' ? 'darwin' : o;
}

function normalizeArch(arch: string, variant: string): { architecture: string; variant: string } {
  const a = arch.toLowerCase();
  const v = variant.toLowerCase();
  if (a === 'i386') return { architecture: '386', variant: '' };
  if (a === 'x86_64' || a === 'x86-64' || a === 'amd64') return { architecture: 'amd64', variant: v === 'v1' ? '' : v };
  if (a === 'aarch64' || a === 'arm64') return { architecture: 'arm64', variant: v === '8' || v === 'v8' ? '' : v };
  if (a === 'armhf') return { architecture: 'arm', variant: 'v7' };
  if (a === 'armel') return { architecture: 'arm', variant: 'v6' };
  if (a === 'arm') return { architecture: 'arm', variant: v === '' || v === '7' ? 'v7' : ['5', '6', '8'].includes(v) ? `v${v}` : v };
  return { architecture: a, variant: v };
}

const fail = (what: string) => invalidParameter(`${what}: invalid argument`);

/** containerd's platforms.Parse; the thrown message is its own (`... : invalid argument`). */
export function parsePlatformSpec(specifier: string): Platform {
  if (specifier.includes('*')) throw fail(`"${specifier}": wildcards not yet supported`);
  const parts = specifier.split('/');
  for (const part of parts) {
    if (!COMPONENT.test(part)) {
      throw fail(`"${part}" is an invalid component of "${specifier}": platform specifier component must match "${COMPONENT.source}"`);
    }
  }
  const own = enginePlatform();
  const platform = (os: string, a: { architecture: string; variant: string }): Platform => ({
    os,
    architecture: a.architecture,
    ...(a.variant ? { variant: a.variant } : {}),
  });
  if (parts.length === 1) {
    const os = normalizeOS(parts[0]!);
    if (KNOWN_OS.has(os)) return { ...own, os };
    const a = normalizeArch(parts[0]!, '');
    if (a.architecture === 'arm' && a.variant === 'v7') a.variant = '';
    if (KNOWN_ARCH.has(a.architecture)) return platform('linux', a);
    throw fail(`"${specifier}": unknown operating system or architecture`);
  }
  if (parts.length === 2) {
    const a = normalizeArch(parts[1]!, '');
    if (a.architecture === 'arm' && a.variant === 'v7') a.variant = '';
    return platform(normalizeOS(parts[0]!), a);
  }
  if (parts.length === 3) {
    const a = normalizeArch(parts[1]!, parts[2]!);
    return platform(normalizeOS(parts[0]!), a);
  }
  throw fail(`"${specifier}": cannot parse platform specifier`);
}

/** Whether an image made for `have` is one for `want` (arm64's v8 and an empty variant are the same). */
export function platformMatches(want: Platform, have: Platform): boolean {
  const variant = (p: Platform) => {
    const v = p.variant ?? '';
    if (p.architecture === 'arm64' && v === 'v8') return '';
    if (p.architecture === 'arm' && v === '') return 'v7';
    return v;
  };
  return want.os === have.os && want.architecture === have.architecture && variant(want) === variant(have);
}

/** An image config's platform (an image without os is Linux's). */
export function imagePlatform(config: { os?: string; architecture?: string; variant?: string }): Platform {
  return { os: config.os ?? 'linux', architecture: config.architecture ?? '', ...(config.variant ? { variant: config.variant } : {}) };
}

/** containerd's platforms.Format: os/architecture[/variant]. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/');
}
