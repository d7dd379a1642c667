/**
 * The main window's bounds, kept across launches in
 * `$BERTH_HOME/window-state.json` (written atomically). Pure: the Electron
 * side gives the displays' work areas, so a window saved on a monitor that
 * is gone comes back on one that exists.
 */
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { homeLayout } from '../util/berth-home.js';

export interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  bounds: Bounds;
  maximized: boolean;
}

export function windowStatePath(home: string): string {
  return homeLayout(home).windowStateFile;
}

function isBounds(v: unknown): v is Bounds {
  const b = v as Bounds;
  return !!b && typeof b === 'object' && [b.x, b.y, b.width, b.height].every((n) => Number.isInteger(n)) && b.width > 0 && b.height > 0;
}

/**
 * The saved state if it is well formed and at least 100×50 px of it lies on
 * one of `workAreas`; undefined otherwise (the caller centres a default window).
 * A damaged file is ignored, not an error: it only holds a window position.
 */
export function loadWindowState(home: string, workAreas: Bounds[]): WindowState | undefined {
  let raw: unknown;
  try {
    raw = readJsonIfExists(windowStatePath(home));
  } catch {
    return undefined;
  }
  const s = raw as WindowState | undefined;
  if (!s || !isBounds(s.bounds)) return undefined;
  const visible = workAreas.some((a) => overlap(s.bounds.x, s.bounds.width, a.x, a.width) >= 100 && overlap(s.bounds.y, s.bounds.height, a.y, a.height) >= 50);
  return visible ? { bounds: s.bounds, maximized: s.maximized === true } : undefined;
}

export function saveWindowState(home: string, state: WindowState): void {
  writeJsonAtomic(windowStatePath(home), state, 0o644);
}

function overlap(a: number, aLen: number, b: number, bLen: number): number {
  return Math.min(a + aLen, b + bLen) - Math.max(a, b);
}
