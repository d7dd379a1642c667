import type { IncomingMessage } from 'node:http';
import { invalidParameter } from '../errors.js';
import type { RegistryCredentials } from '../images/registry-client.js';

/**
 * The credentials the docker CLI sends for pull and push: `X-Registry-Auth`
 * is base64url (or standard base64) JSON of {username, password,
 * serveraddress, identitytoken, registrytoken}. Absent or `{}` means anonymous.
 */
export function registryAuthFrom(req: IncomingMessage): RegistryCredentials | undefined {
  const parsed = base64JsonHeader(req, 'x-registry-auth', 'X-Registry-Auth');
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  return credentialsOf(parsed as Record<string, unknown>);
}

/** A header holding base64url (or standard base64) JSON; undefined when absent. */
export function base64JsonHeader(req: IncomingMessage, header: string, display: string): unknown {
  const value = req.headers[header];
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    return JSON.parse(Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw invalidParameter(`invalid ${display} header: it must be base64-encoded JSON`);
  }
}

/** An auth config object (as the CLI stores and sends it) to credentials; `auth` is base64 `user:password`. */
export function credentialsOf(p: Record<string, unknown>): RegistryCredentials | undefined {
  const creds: RegistryCredentials = {};
  let { username, password } = p;
  if (typeof p.auth === 'string' && p.auth && !username) {
    const decoded = Buffer.from(p.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) [username, password] = [decoded.slice(0, i), decoded.slice(i + 1)];
  }
  if (typeof username === 'string' && username) creds.username = username;
  if (typeof password === 'string' && password) creds.password = password;
  if (typeof p.identitytoken === 'string' && p.identitytoken) creds.identitytoken = p.identitytoken;
  if (typeof p.registrytoken === 'string' && p.registrytoken) creds.registrytoken = p.registrytoken;
  return Object.keys(creds).length ? creds : undefined;
}
