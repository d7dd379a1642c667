/**
 * The host's SSH identity and the VM's pinned host key, under
 * `$BERTH_HOME/ssh/`:
 *
 *   id_ed25519       the host's private key (0600), made on first start
 *   id_ed25519.pub   its public key, the line the guest gets as its
 *                    authorized key (/run/berth/authorized_key)
 *   known_host       the agent's host key, pinned on first connect (TOFU)
 *                    unless the VM build passed one
 *
 * Files are written with main's one atomic writer (0600), so a crash never
 * leaves a half-written key. Their paths are named in util/berth-home.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { writeFileAtomic } from '../util/atomic-file.js';
import { homeLayout } from '../util/berth-home.js';

export interface LinkKeys {
  /** OpenSSH private key text. */
  privateKey: string;
  /** `ssh-ed25519 AAAA... berth-host`: what the guest authorizes. */
  publicKey: string;
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The host's key pair, made on first use. */
export function ensureLinkKeys(berthHome: string): LinkKeys {
  // The writer makes ssh/ 0700 when it first writes a key.
  const { sshPrivateKey: keyPath, sshPublicKey: pubPath } = homeLayout(berthHome);
  let privateKey = readIfExists(keyPath);
  if (privateKey === undefined) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'berth-host' });
    writeFileAtomic(keyPath, pair.private, 0o600);
    privateKey = pair.private;
  }
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`${keyPath} is not a usable SSH private key (${parsed.message}); delete it to make a new one`);
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  const publicKey = `${key.type} ${key.getPublicSSH().toString('base64')} berth-host\n`;
  if (readIfExists(pubPath) !== publicKey) writeFileAtomic(pubPath, publicKey, 0o600);
  return { privateKey, publicKey };
}

/** OpenSSH's fingerprint form: `SHA256:base64-without-padding`. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The pinned host key. `verify` is ssh2's hostVerifier: the first key seen is
 * recorded (TOFU) unless one was pinned already (by a previous connect or by
 * the VM build through `pin`); after that only that key is accepted.
 */
export class HostKeyPin {
  readonly path: string;
  /** Why the last verification failed, for the link's error message. */
  lastMismatch: string | undefined;

  constructor(berthHome: string) {
    this.path = homeLayout(berthHome).sshKnownHost;
  }

  /** Pins a known key (`ssh-ed25519 AAAA...`), replacing any other. */
  pin(publicKeyLine: string): void {
    const [type, b64] = publicKeyLine.trim().split(/\s+/);
    writeFileAtomic(this.path, `${type} ${b64}\n`, 0o600);
  }

  pinned(): Buffer | undefined {
    const text = readIfExists(this.path);
    const b64 = text?.trim().split(/\s+/)[1];
    return b64 ? Buffer.from(b64, 'base64') : undefined;
  }

  verify = (blob: Buffer): boolean => {
    const pinned = this.pinned();
    if (!pinned) {
      const parsed = ssh2.utils.parseKey(blob);
      const type = parsed instanceof Error ? 'ssh-ed25519' : (Array.isArray(parsed) ? parsed[0]! : parsed).type;
      this.pin(`${type} ${blob.toString('base64')}`);
      this.lastMismatch = undefined;
      return true;
    }
    if (pinned.equals(blob)) {
      this.lastMismatch = undefined;
      return true;
    }
    this.lastMismatch =
      `the Berth VM's SSH host key changed (pinned ${fingerprint(pinned)}, offered ${fingerprint(blob)}); ` +
      `if the VM's data disk was recreated, delete ${this.path} and start again`;
    return false;
  };
}
