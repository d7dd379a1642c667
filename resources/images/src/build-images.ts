/**
 * Builds the bundled images into docker-archive tars, with no engine:
 *
 * - berth/getting-started: busybox-static serving the tutorial site with its
 *   httpd on port 80. Layers: busybox (+ a few applet links, /etc), then the
 *   site.
 * - berth/hello-world: one hand-made static executable that prints what just
 *   happened (see hello-elf.ts).
 *
 * Same inputs, same bytes: the only inputs are the files in this folder, the
 * busybox-static package, Berth's version, the build machine's architecture
 * and SOURCE_DATE_EPOCH (default: DEFAULT_EPOCH).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BundledImage, BundledManifest } from './bundled-manifest.js';
import { MANIFEST_FILE } from './bundled-manifest.js';
import { debianArch, getBusybox, type Busybox } from './busybox.js';
import { makeTar, type TarEntry } from './deterministic-tar.js';
import { buildImage, dockerArchive, type ImageSpec } from './docker-archive.js';
import { helloElf, type ElfArch } from './hello-elf.js';
import { renderSite } from './site.js';

/** Where the sources live: resources/images. */
export const IMAGES_DIR = join(import.meta.dirname, '..');
const REPO = join(IMAGES_DIR, '../..');

/** 2025-01-01T00:00:00Z: the images' creation time unless SOURCE_DATE_EPOCH says otherwise. */
export const DEFAULT_EPOCH = 1735689600;

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const WEB_ROOT = 'srv/www';

/** Applets linked into /bin so `docker run berth/getting-started ls` and the tutorial's commands work. */
const APPLETS = [
  'cat',
  'cp',
  'date',
  'df',
  'du',
  'echo',
  'env',
  'false',
  'find',
  'grep',
  'head',
  'hostname',
  'id',
  'ip',
  'kill',
  'less',
  'ls',
  'mkdir',
  'mv',
  'nc',
  'nslookup',
  'ping',
  'printf',
  'ps',
  'pwd',
  'rm',
  'rmdir',
  'sed',
  'sh',
  'sleep',
  'sort',
  'tail',
  'tee',
  'top',
  'touch',
  'true',
  'uname',
  'uniq',
  'vi',
  'wc',
  'wget',
  'whoami',
];

export interface BuildOptions {
  outDir: string;
  cacheDir: string;
  /** Seconds since the epoch for every timestamp; default SOURCE_DATE_EPOCH or DEFAULT_EPOCH. */
  epoch?: number;
  log?: (line: string) => void;
}

export interface BuildResult {
  manifest: BundledManifest;
  manifestPath: string;
}

export const OCI_ARCH: Record<string, { architecture: ElfArch; variant?: string }> = {
  amd64: { architecture: 'amd64' },
  arm64: { architecture: 'arm64', variant: 'v8' },
};

function berthVersion(): string {
  const v = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version?: string }).version;
  if (!v) throw new Error(`${join(REPO, 'package.json')} has no version`);
  return v;
}

export function epochFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return DEFAULT_EPOCH;
  if (!/^\d+$/.test(raw)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, not ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** The applets this busybox has, from `busybox --list` (it runs here: it is built for this machine). */
function appletsOf(busybox: Busybox, cacheDir: string): Set<string> {
  const file = join(cacheDir, `busybox-${createHash('sha256').update(busybox.binary).digest('hex').slice(0, 16)}`);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(file, busybox.binary, { mode: 0o755 });
  try {
    return new Set(execFileSync(file, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean));
  } finally {
    rmSync(file, { force: true });
  }
}

function labels(title: string, description: string, version: string): Record<string, string> {
  return {
    'org.opencontainers.image.description': description,
    'org.opencontainers.image.licenses': 'MIT AND GPL-2.0-only',
    'org.opencontainers.image.title': title,
    'org.opencontainers.image.vendor': 'Berth',
    'org.opencontainers.image.version': version,
  };
}

async function gettingStarted(
  busybox: Busybox,
  arch: { architecture: string; variant?: string },
  version: string,
  created: Date,
  cacheDir: string,
): Promise<ImageSpec> {
  const src = join(IMAGES_DIR, 'getting-started');
  const have = appletsOf(busybox, cacheDir);
  const missing = APPLETS.filter((a) => !have.has(a));
  if (missing.length) throw new Error(`this busybox (${busybox.version}) lacks applets the tutorial uses: ${missing.join(', ')}`);
  const base: TarEntry[] = [
    { path: 'bin/busybox', type: 'file', content: busybox.binary, mode: 0o755 },
    ...APPLETS.map((a): TarEntry => ({ path: `bin/${a}`, type: 'symlink', target: 'busybox' })),
    { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    { path: 'etc/group', type: 'file', content: 'root:x:0:\nnogroup:x:65534:\n' },
    { path: 'etc/httpd.conf', type: 'file', content: readFileSync(join(src, 'httpd.conf')) },
    { path: 'root', type: 'dir', mode: 0o700 },
    { path: 'tmp', type: 'dir', mode: 0o1777 },
  ];
  const site: TarEntry[] = [...renderSite(join(src, 'site'))].map(([path, content]) => ({ path: `${WEB_ROOT}/${path}`, type: 'file', content }));
  // busybox httpd has no SIGTERM handler, and a PID 1 ignores signals it
  // does not handle, so run as PID 1 it would make `docker stop` wait out its
  // timeout. A shell that traps SIGTERM (and Ctrl+C) is PID 1 instead: it
  // exits 0 at once and the kernel ends the server with it. The image keeps
  // the default stop signal, so containers made from it for other commands
  // (the tutorial's exercises) behave as anywhere else.
  const cmd = ['/bin/busybox', 'sh', '-c', `trap 'exit 0' TERM INT; /bin/busybox httpd -f -v -p 80 -h /${WEB_ROOT} & wait`];
  return {
    ...arch,
    created: created.toISOString(),
    config: {
      Env: [PATH_ENV],
      Cmd: cmd,
      WorkingDir: `/${WEB_ROOT}`,
      ExposedPorts: { '80/tcp': {} },
      StopSignal: 'SIGTERM',
      Labels: labels(
        'Berth getting started',
        'A tutorial on containers, images, volumes, networks and builds, in English and Simplified Chinese, served by busybox httpd on port 80.',
        version,
      ),
    },
    steps: [
      { createdBy: `COPY busybox-static ${busybox.version} /bin/busybox, applet links, /etc`, layer: await makeTar(base, created) },
      { createdBy: `COPY getting-started/site /${WEB_ROOT}`, layer: await makeTar(site, created) },
      { createdBy: 'EXPOSE 80/tcp' },
      { createdBy: 'STOPSIGNAL SIGTERM' },
      { createdBy: `CMD ${JSON.stringify(cmd)}` },
    ],
  };
}

/** The hello-world image for an architecture (also what tests/vm/arm64-vm.test.ts runs in the arm64 guest). */
export async function helloWorld(arch: { architecture: ElfArch; variant?: string }, version: string, created: Date): Promise<ImageSpec> {
  const message = readFileSync(join(IMAGES_DIR, 'hello-world', 'message.txt'), 'utf8');
  return {
    ...arch,
    created: created.toISOString(),
    config: {
      Env: [PATH_ENV],
      Cmd: ['/hello'],
      Labels: labels('Berth hello world', 'Prints what happened when you ran it, then exits 0.', version),
    },
    steps: [
      {
        createdBy: `COPY hello /hello (a ${arch.architecture} static executable made by resources/images)`,
        layer: await makeTar([{ path: 'hello', type: 'file', content: helloElf(arch.architecture, message), mode: 0o755 }], created),
      },
      { createdBy: 'CMD ["/hello"]' },
    ],
  };
}

/** Builds both archives and out/manifest.json (each written to a temp name, then renamed). */
export async function buildBundledImages(opts: BuildOptions): Promise<BuildResult> {
  const log = opts.log ?? (() => {});
  const epoch = opts.epoch ?? epochFromEnv();
  const created = new Date(epoch * 1000);
  const version = berthVersion();
  const debArch = debianArch();
  const arch = OCI_ARCH[debArch];
  if (!arch) throw new Error(`the bundled images are built for amd64 or arm64; this machine is ${debArch}`);
  const busybox = getBusybox(opts.cacheDir, log);
  log(
    `busybox-static ${busybox.version} (${busybox.source === 'host' ? 'from /bin/busybox' : 'Debian package'}), ${arch.architecture}, created ${created.toISOString()}`,
  );

  const defs: { name: string; spec: ImageSpec }[] = [
    { name: 'getting-started', spec: await gettingStarted(busybox, arch, version, created, opts.cacheDir) },
    { name: 'hello-world', spec: await helloWorld(arch, version, created) },
  ];
  mkdirSync(opts.outDir, { recursive: true });
  const images: BundledImage[] = [];
  for (const { name, spec } of defs) {
    const image = buildImage(spec);
    const tags = [`berth/${name}:latest`, `berth/${name}:${version}`];
    const archive = await dockerArchive(image, tags, created);
    const file = `${name}.tar`;
    const tmp = join(opts.outDir, `.${file}.tmp`);
    writeFileSync(tmp, archive);
    renameSync(tmp, join(opts.outDir, file));
    images.push({
      name,
      archive: file,
      tags,
      id: image.id,
      archiveDigest: `sha256:${createHash('sha256').update(archive).digest('hex')}`,
      archiveBytes: archive.length,
      imageBytes: image.layers.reduce((n, l) => n + l.tar.length, 0),
    });
    log(`${tags[0]} ${image.id.slice(7, 19)}: image ${(images.at(-1)!.imageBytes / 1024).toFixed(0)} KiB, archive ${file}`);
  }
  const manifest: BundledManifest = {
    schemaVersion: 1,
    berthVersion: version,
    architecture: arch.architecture,
    busybox: { version: busybox.version, source: busybox.source },
    images,
  };
  const manifestPath = join(opts.outDir, MANIFEST_FILE);
  writeFileSync(`${manifestPath}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${manifestPath}.tmp`, manifestPath);
  return { manifest, manifestPath };
}
