/**
 * A build context as the engine's POST /build wants it: the folder as a tar
 * stream, written as it is read (no temp file). Everything under the folder
 * goes in; `.dockerignore` is the engine's job (it reads the file from the
 * tar), as with dockerd's classic builder. Symlinks go in as links, never
 * followed, so a link cannot pull files from outside the folder.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';

/** Starts packing `dir`; the returned stream ends when every entry is in, or is destroyed with the error. */
export function packContext(dir: string): Pack {
  const p = pack();
  void (async () => {
    await addDir(p, dir, '');
    p.finalize();
  })().catch((err: Error) => p.destroy(new Error(`packing the build context ${dir}: ${err.message}`)));
  return p;
}

async function addDir(p: Pack, root: string, rel: string): Promise<void> {
  const names = (await readdir(join(root, rel))).sort();
  for (const name of names) {
    const r = rel ? `${rel}/${name}` : name;
    const full = join(root, r);
    const st = await lstat(full);
    const common = { name: r, mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 };
    if (st.isDirectory()) {
      await entry(p, { ...common, type: 'directory' });
      await addDir(p, root, r);
    } else if (st.isSymbolicLink()) {
      await entry(p, { ...common, type: 'symlink', linkname: await readlink(full) });
    } else if (st.isFile()) {
      const sink = p.entry({ ...common, type: 'file', size: st.size });
      await pipeline(createReadStream(full), sink);
    }
    // Sockets, fifos and devices are left out, as docker build does.
  }
}

function entry(p: Pack, header: Parameters<Pack['entry']>[0]): Promise<void> {
  return new Promise((resolve, reject) => p.entry(header, (err) => (err ? reject(err) : resolve())));
}
