/**
 * The steps that change the image's files without running anything in it:
 * COPY and ADD (from the context, an earlier stage or an image) and WORKDIR
 * (the directory made when the image lacks it). Each mounts an overlay of
 * the current image's layers in a private directory, changes it, and packs
 * the upper dir as the new layer.
 */
import { randomBytes } from 'node:crypto';
import { lstat, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { invalidParameter } from '../errors.js';
import { resolveUser } from '../engine/container-user.js';
import { mountRootfs, rootfsPaths, unmountRootfs } from '../engine/rootfs.js';
import type { ImageRecord } from '../images/image-store.js';
import { packLayer } from '../images/layer-pack.js';
import type { StageState, StepHost } from './build-stages.js';
import { splitOwner } from './config-rules.js';
import { copyInto, makeDirIn, resolveSources, sourcesDigest, type Owner } from './copy.js';
import type { Instruction } from './dockerfile-parser.js';

const STEP_FLAGS_IGNORED = ['link', 'parents', 'exclude', 'checksum', 'keep-git-dir'];

export async function copyStep(host: StepHost, st: StageState, ins: Instruction): Promise<void> {
  const CMD = ins.cmd.toUpperCase() as 'COPY' | 'ADD';
  for (const f of Object.keys(ins.flags)) if (STEP_FLAGS_IGNORED.includes(f)) host.say(` ---> [Warning] ${CMD} --${f} is ignored by the classic builder\n`);
  const words = ins.args.map((w) => host.expand(st, w));
  const srcs = words.slice(0, -1);
  let dest = words.at(-1)!;
  const workdir = host.rc(st).WorkingDir || '/';
  if (!dest.startsWith('/')) {
    const joined = posix.join(workdir, dest);
    dest = (dest.endsWith('/') || dest === '.') && !joined.endsWith('/') ? `${joined}/` : joined;
  }
  const chown = ins.flags.chown !== undefined ? host.expand(st, ins.flags.chown) : undefined;
  const chmod = ins.flags.chmod !== undefined ? parseChmod(ins.flags.chmod) : undefined;
  const from = ins.flags.from !== undefined ? host.expand(st, ins.flags.from) : undefined;
  if (from !== undefined && CMD === 'ADD') throw invalidParameter('ADD does not support --from: use COPY --from');

  await withSourceRoot(host, from, async (root) => {
    const sources = await resolveSources(root, srcs, CMD, from === undefined);
    const digest = await sourcesDigest(sources);
    const createdBy = [...host.shell(st), `#(nop) ${CMD} ${digest} in ${dest} `].join(' ');
    await host.cached(st, { key: ['copy', createdBy, chown ?? '', chmod ?? '', from ?? ''], rc: host.rc(st) }, () =>
      layerStep(host, st, createdBy, async (rootfs) => {
        const owner = chown === undefined ? { uid: 0, gid: 0 } : await resolveOwner(rootfs, chown);
        await copyInto(rootfs, sources, { cmd: CMD, dest, owner, ...(chmod !== undefined ? { mode: chmod } : {}) });
      }),
    );
  });
}

export async function workdirStep(host: StepHost, st: StageState, ins: Instruction): Promise<void> {
  const images = host.deps.images;
  const raw = host.expand(st, ins.args[0]!);
  const dir = posix.resolve(host.rc(st).WorkingDir || '/', raw);
  const rc = { ...host.rc(st), WorkingDir: dir };
  const createdBy = [...host.shell(st), `#(nop) WORKDIR ${dir}`].join(' ');
  await host.cached(st, { key: ['workdir', createdBy], rc }, async () => {
    // The directory is made in the image (root-owned) when it is missing, as dockerd does.
    const parent = st.image;
    const exists = parent !== undefined && (await existsInLayers(images.layerDirs(parent), dir));
    if (exists) return images.commit({ parent, config: host.nextConfig(st, rc, { created_by: createdBy, empty_layer: true }) });
    return layerStep(host, { ...st, config: { ...st.config, config: rc } }, createdBy, (rootfs) => makeDirIn(rootfs, dir, { uid: 0, gid: 0 }).then(() => undefined));
  });
}

/** Mounts the current image in a private dir, lets `change` edit it, packs the changes as a new layer. */
async function layerStep(host: StepHost, st: StageState, createdBy: string, change: (rootfs: string) => Promise<void>): Promise<ImageRecord> {
  const images = host.deps.images;
  const lowers = st.image ? images.layerDirs(st.image) : [];
  return withMount(host, lowers, async (rootfs, upper) => {
    await change(rootfs);
    return images.commit({ parent: st.image, layer: packLayer(upper), config: host.nextConfig(st, host.rc(st), { created_by: createdBy }) });
  });
}

async function withMount<T>(host: StepHost, lowers: string[], fn: (rootfs: string, upper: string) => Promise<T>): Promise<T> {
  const dir = join(host.workRoot, `mnt-${randomBytes(6).toString('hex')}`);
  try {
    const rootfs = await mountRootfs(dir, lowers);
    return await fn(rootfs, rootfsPaths(dir).upper);
  } finally {
    try {
      unmountRootfs(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** The context dir, or for `--from` an earlier stage's (or an image's) filesystem, mounted for the call. */
async function withSourceRoot<T>(host: StepHost, from: string | undefined, fn: (root: string) => Promise<T>): Promise<T> {
  if (from === undefined) return fn(host.ctx.dir);
  const byName = host.stageImages.find((s) => s.name !== undefined && s.name === from.toLowerCase());
  const byIndex = /^\d+$/.test(from) ? host.stageImages[Number(from)] : undefined;
  const stage = byName ?? byIndex;
  let image: ImageRecord | undefined;
  if (stage) image = stage.image;
  else if (/^\d+$/.test(from)) throw invalidParameter(`invalid from flag value ${from}: refers to a stage that is not built yet`);
  else image = await host.baseImage(from);
  return withMount(host, image ? host.deps.images.layerDirs(image) : [], (rootfs) => fn(rootfs));
}

function parseChmod(s: string): number {
  if (!/^[0-7]{3,4}$/.test(s)) throw invalidParameter(`invalid --chmod value ${s}: use an octal mode such as 755`);
  return parseInt(s, 8);
}

/** `--chown=user[:group]`; names from the image's /etc/passwd and /etc/group; a lone user is also the group. */
async function resolveOwner(rootfs: string, spec: string): Promise<Owner> {
  const { user, group } = splitOwner(spec);
  const uid = /^\d+$/.test(user) ? Number(user) : (await resolveUser(rootfs, user)).uid;
  if (group === undefined || group === '') return { uid, gid: /^\d+$/.test(user) ? uid : (await resolveUser(rootfs, user)).gid };
  const gid = /^\d+$/.test(group) ? Number(group) : (await resolveUser(rootfs, `0:${group}`)).gid;
  return { uid, gid };
}

async function existsInLayers(lowers: string[], path: string): Promise<boolean> {
  for (const l of [...lowers].reverse()) {
    const st = await lstat(join(l, path)).catch(() => undefined);
    if (st) return st.isDirectory(); // a whiteout (0/0 device) is not a directory either
  }
  return false;
}
