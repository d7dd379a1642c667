import type { IncomingMessage } from 'node:http';
import { invalidParameter } from '../errors.js';
import type { RegistryCredentials } from '../images/registry-client.js';

/**
 * The credentials the docker CLI sends for pull and push: `X-Registry-Auth`
 * is base64url (or standard base64) JSON of {username, password,
 * serveraddress, identitytoken, registrytoken}. Absent or `{}` means anonymous.
 */
export function registryAuthFrom(req: IncomingMessage): RegistryCredentials | undefined {
  const header = req.headers['x-registry-auth'];
  if (typeof header !== 'string' || header === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw invalidParameter('invalid X-Registry-Auth header: it must be base64-encoded JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const p = parsed as Record<string, unknown>;
  const creds: RegistryCredentials = {};
  if (typeof p.username === 'string' && p.username) creds.username = p.username;
  if (typeof p.password === 'string' && p.password) creds.password = p.password;
  if (typeof p.identitytoken === 'string' && p.identitytoken) creds.identitytoken = p.identitytoken;
  if (typeof p.registrytoken === 'string' && p.registrytoken) creds.registrytoken = p.registrytoken;
  return Object.keys(creds).length ? creds : undefined;
}
