/** The Docker Engine API versions this engine serves. Clients negotiate down to API_VERSION via /_ping. */
export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';
export const ENGINE_VERSION = '0.1.0';

/** Compares dotted API versions numerically: '1.9' < '1.24'. */
export function compareApiVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
