/**
 * POST /build through the raw API, as docker-py sends it: the context as a
 * tar body, the options in the query; the answer's JSON lines parsed.
 */
import { engineRequest } from '../helpers/docker.js';
import { makeTar } from '../helpers/test-images.js';

export interface ApiBuildResult {
  status: number;
  /** The JSON lines of a 200 answer (none otherwise). */
  lines: Record<string, unknown>[];
  /** The raw answer (the error's JSON for a refusal). */
  text: string;
}

/** Builds a context of these files (path -> content) with the query given (already encoded). */
export async function apiBuild(socket: string, query: string, files: Record<string, string>): Promise<ApiBuildResult> {
  const r = await engineRequest(socket, 'POST', `/build?${query}`, {
    body: await makeTar(Object.entries(files).map(([path, content]) => ({ path, content }))),
    headers: { 'content-type': 'application/x-tar' },
    timeoutMs: 120_000,
  });
  const text = r.text();
  const lines =
    r.status === 200
      ? text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
  return { status: r.status, lines, text };
}
