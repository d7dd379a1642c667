/** How the pages tell an engine that lacks an endpoint from one that refused a request. */
import { ApiError } from './client.js';

/**
 * True when the engine has no route for the request (dockerd and Berth's
 * agent answer `404 page not found`), as opposed to `404 No such ...`.
 */
export function isUnsupported(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404 && /page not found/i.test(err.message);
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
