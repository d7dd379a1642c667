/**
 * The one public key allowed to log in (the host's), read from a file in
 * OpenSSH `authorized_keys` form. Only its first key line counts.
 *
 * `matches` compares the offered key blob in constant time (for blobs of the
 * same length; a different length is a different key type and is refused
 * without a comparison, which leaks nothing an attacker does not know).
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import ssh2, { type ParsedKey } from 'ssh2';

export class AuthorizedKey {
  readonly key: ParsedKey;
  readonly #blob: Buffer;

  constructor(key: ParsedKey) {
    this.key = key;
    this.#blob = key.getPublicSSH();
  }

  /** Parses the first key line of an authorized_keys text. Throws with the reason. */
  static parse(text: string, source = 'the authorized key'): AuthorizedKey {
    const line = text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !l.startsWith('#'));
    if (!line) throw new Error(`${source} holds no public key`);
    const parsed = ssh2.utils.parseKey(line);
    if (parsed instanceof Error) throw new Error(`${source} is not an OpenSSH public key: ${parsed.message}`);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key.isPrivateKey()) throw new Error(`${source} must hold a public key, not a private one`);
    return new AuthorizedKey(key);
  }

  static async load(path: string): Promise<AuthorizedKey> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the SSH authorized key ${path}: ${(err as Error).message}`);
    }
    return AuthorizedKey.parse(text, path);
  }

  /** Is this the authorized key? `algo` and `data` as ssh2's publickey auth context gives them. */
  matches(algo: string, data: Buffer): boolean {
    if (data.length !== this.#blob.length) return false;
    const same = timingSafeEqual(data, this.#blob);
    return same && algo === this.key.type;
  }
}
