/**
 * The SSH server's identity: an ed25519 key made on first start and kept
 * under the data root (0600), so the host's pin (TOFU) survives restarts and
 * reboots of the guest as long as the data disk does.
 */
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { errnoCode } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';

/** The private key (OpenSSH format), made and saved when `path` does not exist. */
export async function loadOrCreateHostKey(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw new Error(`cannot read the SSH host key ${path}: ${(err as Error).message}`);
  }
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'berth-agent host key' });
  await writeFileAtomic(path, pair.private, 0o600);
  return pair.private;
}
