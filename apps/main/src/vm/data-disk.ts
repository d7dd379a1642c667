// The VM's persistent data disk. Made once, on first start: qcow2 through
// qemu-img when it is installed (it grows as the guest writes and works the
// same on every OS), else a sparse raw file. The guest formats it.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export type DiskFormat = 'qcow2' | 'raw';

/** qcow2 files start with "QFI\xfb". */
export async function detectDiskFormat(file: string): Promise<DiskFormat> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    return head.equals(Buffer.from([0x51, 0x46, 0x49, 0xfb])) ? 'qcow2' : 'raw';
  } finally {
    await fh.close();
  }
}

/**
 * Returns the disk at `file`, creating it (sizeGiB, empty) if it does not exist.
 * An existing disk is never touched. `qemuImg` is the qemu-img binary, or
 * null to make a raw file.
 */
export async function ensureDataDisk(file: string, sizeGiB: number, qemuImg: string | null): Promise<{ path: string; format: DiskFormat; created: boolean }> {
  try {
    await fs.access(file);
    return { path: file, format: await detectDiskFormat(file), created: false };
  } catch {
    // not there yet: make it
  }
  const tmp = `${file}.creating`;
  await fs.rm(tmp, { force: true });
  let format: DiskFormat = 'raw';
  if (qemuImg) {
    try {
      await execFileP(qemuImg, ['create', '-q', '-f', 'qcow2', tmp, `${sizeGiB}G`]);
      format = 'qcow2';
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code !== 'ENOENT') throw new Error(`could not create the data disk ${file} with ${qemuImg}: ${(e.stderr ?? e.message).trim()}`);
    }
  }
  if (format === 'raw') {
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.truncate(sizeGiB * 1024 ** 3);
    } finally {
      await fh.close();
    }
  }
  await fs.rename(tmp, file);
  return { path: file, format, created: true };
}
