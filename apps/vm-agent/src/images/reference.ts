import { invalidParameter } from '../errors.js';

/**
 * Image references, normalized as dockerd does:
 *   ubuntu                       -> docker.io/library/ubuntu:latest
 *   user/app:1.0                 -> docker.io/user/app:1.0
 *   localhost:5000/app@sha256:.. -> localhost:5000/app@sha256:..
 * A reference is a repository (domain + path) plus an optional tag and/or
 * digest. `withDefaultTag` adds `latest` when neither is given.
 */
export interface Reference {
  /** Registry host, with port if any: 'docker.io', '127.0.0.1:5000'. */
  domain: string;
  /** Repository path inside the registry: 'library/ubuntu'. */
  path: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';

// The grammar of distribution/reference, written as regular expressions.
const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainRe = new RegExp(`^(?:${domainName}|${ipv6})(?::[0-9]+)?$`);
const pathRe = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^sha256:[a-f0-9]{64}$/;
const anyDigestRe = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const fullIdRe = /^[a-f0-9]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;

const invalid = (detail?: string) => invalidParameter(detail ? `invalid reference format: ${detail}` : 'invalid reference format');

/** Parses and normalizes a reference; throws invalid-parameter with dockerd's wording. */
export function parseReference(input: string): Reference {
  if (input.length === 0) throw invalid();
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!anyDigestRe.test(digest)) throw invalid();
    if (!digestRe.test(digest)) {
      if (digest.startsWith('sha256:')) throw invalidParameter(`invalid reference format: invalid checksum digest length`);
      throw invalidParameter(`invalid reference format: unsupported digest algorithm`);
    }
  }
  let tag: string | undefined;
  // A tag is after the last ':' that comes after the last '/' (a ':' before it is a port).
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw invalid();
  }
  const { domain, path } = splitDomain(rest);
  if (!domainRe.test(domain)) throw invalid();
  if (!pathRe.test(path)) {
    if (pathRe.test(path.toLowerCase())) throw invalid(`repository name (${path}) must be lowercase`);
    throw invalid();
  }
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (domain === DEFAULT_DOMAIN && fullIdRe.test(path.replace(OFFICIAL_REPO_PREFIX, ''))) {
    throw invalidParameter(`invalid repository name (${path.replace(OFFICIAL_REPO_PREFIX, '')}), cannot specify 64-byte hexadecimal strings`);
  }
  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** dockerd's splitDockerDomain: the first component is a host only if it looks like one. */
function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  let domain: string;
  let path: string;
  if (slash === -1) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    const first = name.slice(0, slash);
    const looksLikeHost = first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
    if (looksLikeHost) {
      domain = first;
      path = name.slice(slash + 1);
    } else {
      domain = DEFAULT_DOMAIN;
      path = name;
    }
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

/** Adds `latest` to a reference with neither tag nor digest. */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** Parses a reference for pull/run: normalized, with the default tag. */
export function parseNormalizedNamed(input: string): Reference {
  return withDefaultTag(parseReference(input));
}

/** 'docker.io/library/ubuntu' */
export function repositoryName(ref: Pick<Reference, 'domain' | 'path'>): string {
  return `${ref.domain}/${ref.path}`;
}

/** 'ubuntu', 'user/app', 'localhost:5000/app': how users write the repository. */
export function familiarName(ref: Pick<Reference, 'domain' | 'path'>): string {
  if (ref.domain !== DEFAULT_DOMAIN) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) ? ref.path.slice(OFFICIAL_REPO_PREFIX.length) : ref.path;
}

/** The full normalized string: 'docker.io/library/ubuntu:latest'. */
export function referenceString(ref: Reference): string {
  return repositoryName(ref) + suffix(ref);
}

/** The familiar string: 'ubuntu:latest', 'localhost:5000/app@sha256:...'. */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + suffix(ref);
}

function suffix(ref: Reference): string {
  return (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** True when the string can only be an image ID (or a prefix of one), not a name. */
export function looksLikeImageId(s: string): boolean {
  return /^(sha256:)?[a-f0-9]{1,64}$/.test(s);
}

export function isValidTag(tag: string): boolean {
  return tagRe.test(tag);
}

export function isDigest(s: string): boolean {
  return digestRe.test(s);
}
