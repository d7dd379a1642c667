/**
 * Who may talk to the web-mode dashboard: only a page or client on this
 * machine that knows the per-run token.
 *
 * - Host must be `127.0.0.1:PORT` or `localhost:PORT`: a foreign name means
 *   DNS rebinding (an attacker's name resolved to 127.0.0.1) → 403.
 * - Origin, when sent, must be `http://127.0.0.1:PORT` or
 *   `http://localhost:PORT`: anything else is another site's page (CSRF) → 403.
 * - The token comes as `?token=` (the printed link, first load only), the
 *   HttpOnly SameSite=Strict cookie set then, or the `X-Berth-Token` header;
 *   without it → 401.
 * - A cross-site request (`Sec-Fetch-Site: cross-site` or `same-site`, which
 *   browsers send even when they leave Origin out) → 403, and so is a
 *   request other than GET/HEAD with a content type an HTML form can send
 *   (urlencoded, multipart, text/plain) unless it carries the token header:
 *   the dashboard's own calls are JSON, so a form post is always another
 *   page's.
 */
import { timingSafeEqual } from 'node:crypto';

export interface GuardRequest {
  url: string;
  /** GET when absent. */
  method?: string;
  headers: Record<string, string | string[] | undefined>;
}

export type GuardVerdict =
  | { ok: true; via: 'query' | 'cookie' | 'header' }
  | { ok: false; status: 401 | 403; message: string };

export const TOKEN_HEADER = 'x-berth-token';

/** The content types an HTML form can post without CORS. */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/** The cookie's name: one per port, since cookies are shared by every port of a host. */
export function tokenCookieName(port: number): string {
  return `berth_token_${port}`;
}

export function checkRequest(req: GuardRequest, port: number, token: string): GuardVerdict {
  const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  const host = single(req.headers.host)?.toLowerCase();
  if (!host || !allowedHosts.includes(host)) {
    return { ok: false, status: 403, message: `Forbidden: the dashboard answers only to ${allowedHosts.join(' or ')} (Host was ${host ?? 'missing'}).` };
  }
  const origin = single(req.headers.origin);
  if (origin !== undefined && !allowedHosts.some((h) => origin.toLowerCase() === `http://${h}`)) {
    return { ok: false, status: 403, message: `Forbidden: requests from ${origin} are not accepted.` };
  }
  const site = single(req.headers['sec-fetch-site'])?.toLowerCase();
  if (site === 'cross-site' || site === 'same-site') {
    return { ok: false, status: 403, message: 'Forbidden: requests from other sites are not accepted.' };
  }
  const header = single(req.headers[TOKEN_HEADER]);
  if (header !== undefined && sameToken(header, token)) return { ok: true, via: 'header' };
  const type = single(req.headers['content-type'])?.split(';')[0]!.trim().toLowerCase();
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD' && type !== undefined && FORM_TYPES.includes(type)) {
    return { ok: false, status: 403, message: `Forbidden: a form post (${type}) is not accepted; the dashboard sends JSON.` };
  }
  const cookie = readCookie(single(req.headers.cookie), tokenCookieName(port));
  if (cookie !== undefined && sameToken(cookie, token)) return { ok: true, via: 'cookie' };
  const query = new URL(req.url, 'http://x').searchParams.get('token');
  if (query !== null && sameToken(query, token)) return { ok: true, via: 'query' };
  return { ok: false, status: 401, message: 'Unauthorized: open the dashboard with the link `berth web` printed (it carries the token).' };
}

/** The Set-Cookie value that keeps the token after the first load (the page's JavaScript never sees it). */
export function tokenCookie(port: number, token: string): string {
  return `${tokenCookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
