/**
 * Who may talk to the web-mode dashboard: only a page or client on this
 * machine that knows the per-run token.
 *
 * - Host must be `127.0.0.1:PORT` or `localhost:PORT`: a foreign name means
 *   DNS rebinding (an attacker's name resolved to 127.0.0.1) → 403.
 * - Origin, when sent, must be `http://127.0.0.1:PORT` or
 *   `http://localhost:PORT`: anything else is another site's page (CSRF) → 403.
 * - A cross-site request (`Sec-Fetch-Site: cross-site` or `same-site`, which
 *   browsers send even when they leave Origin out) → 403, static files too,
 *   so another site cannot even load our scripts or frame the page. The one
 *   exception is a top-level navigation to `/`: the launch page `berth web`
 *   opens is a file:// page, which browsers count as another site; what it
 *   gets is the page shell, no secret and no API.
 * - The API (`/api/...`, and anything but a GET or HEAD) needs the
 *   `X-Berth-Token` header; without it → 401. A request other than GET/HEAD
 *   with a content type an HTML form can send (urlencoded, multipart,
 *   text/plain) and no token header → 403: the dashboard's own calls are
 *   JSON with the header, so such a post is always another page's form.
 * - Static files (GET/HEAD outside /api/) need no token: they hold no
 *   secret, and the page must load before it can read its token from the
 *   URL fragment (see apps/renderer/src/api/web-token.ts).
 * - WebSockets: the dashboard has none (a terminal is a POST stream out and
 *   `sessionInput` calls in, both with the header), and
 *   the server upgrades nothing, so an upgrade request is an ordinary
 *   request here: to the API without the header it is a 401. A browser
 *   cannot set headers on a WebSocket; one added later should carry the
 *   token as a subprotocol (`new WebSocket(url, ['berth', 'token.' + t])`,
 *   the server checking it here and echoing only `berth`) rather than a
 *   ticket fetched first: no server state to expire, no second round trip,
 *   and it is still sent only by our own page's code.
 *
 * Never a cookie and never the query: cookies are not scoped by port, so
 * every other server on 127.0.0.1 (a container's published port) would be
 * sent the token (issue #15); a query lands in logs and the history. A header
 * is sent only where the page's own code sends it.
 */
import { timingSafeEqual } from 'node:crypto';

export interface GuardRequest {
  url: string;
  /** GET when absent. */
  method?: string;
  headers: Record<string, string | string[] | undefined>;
}

export type GuardVerdict = { ok: true; via: 'static' | 'header' } | { ok: false; status: 401 | 403; message: string };

export const TOKEN_HEADER = 'x-berth-token';

/** The content types an HTML form can post without CORS. */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

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
  if ((site === 'cross-site' || site === 'same-site') && !isLanding(req)) {
    return { ok: false, status: 403, message: 'Forbidden: requests from other sites are not accepted.' };
  }
  const header = single(req.headers[TOKEN_HEADER]);
  if (header !== undefined && sameToken(header, token)) return { ok: true, via: 'header' };
  const type = single(req.headers['content-type'])?.split(';')[0]!.trim().toLowerCase();
  const method = (req.method ?? 'GET').toUpperCase();
  const read = method === 'GET' || method === 'HEAD';
  if (!read && type !== undefined && FORM_TYPES.includes(type)) {
    return { ok: false, status: 403, message: `Forbidden: a form post (${type}) is not accepted; the dashboard sends JSON.` };
  }
  if (read && !isApiPath(req.url)) return { ok: true, via: 'static' };
  return { ok: false, status: 401, message: 'Unauthorized: open the dashboard with the link `berth web` printed (it carries the token).' };
}

/** A top-level GET of `/` (any query) and nothing else: no frame, no script, no fetch. */
function isLanding(req: GuardRequest): boolean {
  const method = (req.method ?? 'GET').toUpperCase();
  return (
    method === 'GET' &&
    single(req.headers['sec-fetch-mode']) === 'navigate' &&
    single(req.headers['sec-fetch-dest']) === 'document' &&
    new URL(req.url, 'http://x').pathname === '/'
  );
}

/** Decoded and normalized as the server routes it, so `/%61pi/` or `/x/../api/` is the API too. */
function isApiPath(url: string): boolean {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url, 'http://x').pathname);
  } catch {
    return true;
  }
  return new URL(path, 'http://x').pathname.toLowerCase().startsWith('/api');
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
