/**
 * Where a registry is and how its names are written: the base URL of a
 * domain (docker.io's real host, plain HTTP for loopback registries), the
 * repository as users name it in messages, and digest references.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

export interface RepositoryRef {
  /** As in references: 'docker.io', '127.0.0.1:5000', 'localhost:5000', 'ghcr.io'. */
  domain: string;
  /** The repository path, e.g. 'library/busybox'. */
  path: string;
}

const DIGEST_RE = /^(sha256|sha384|sha512):[a-f0-9]{32,}$/;

/** The base URL of a registry domain (no trailing slash). */
export function registryBaseUrl(domain: string): string {
  if (domain === 'docker.io' || domain === 'index.docker.io' || domain === 'registry-1.docker.io') {
    return 'https://registry-1.docker.io';
  }
  return `${isLoopbackDomain(domain) ? 'http' : 'https'}://${domain}`;
}

/** localhost, 127.0.0.0/8 or ::1, with or without a port. */
export function isLoopbackDomain(domain: string): boolean {
  let host = domain;
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']'));
  else if (isIP(host) !== 6) host = host.replace(/:\d+$/, '');
  host = host.toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** How a user names the repository in messages: `busybox`, `127.0.0.1:5000/x`. */
export function displayName(repo: RepositoryRef): string {
  if (repo.domain === 'docker.io') return repo.path.startsWith('library/') ? repo.path.slice(8) : repo.path;
  return `${repo.domain}/${repo.path}`;
}

export function isDigest(reference: string): boolean {
  return DIGEST_RE.test(reference);
}

export function digestOf(algorithm: string, data: Buffer): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}
