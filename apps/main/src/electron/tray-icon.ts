/**
 * The tray icon's picture: a filled dot in the engine state's colour, drawn
 * as a BGRA bitmap (nativeImage.createFromBitmap) so the app ships no image
 * files for it. Pure: no Electron import, so it is testable anywhere.
 */
import type { EngineStateName } from '@berth/api';

/** [r, g, b] per state, the status bar's colours. */
export const STATE_COLOURS: Record<EngineStateName, [number, number, number]> = {
  starting: [0xf5, 0x9e, 0x0b],
  running: [0x22, 0xc5, 0x5e],
  stopped: [0x94, 0xa3, 0xb8],
  error: [0xef, 0x44, 0x44],
};

/** A size×size BGRA bitmap of an anti-aliased dot, transparent around it. */
export function dotBitmap(state: EngineStateName, size = 16): Buffer {
  const [r, g, b] = STATE_COLOURS[state];
  const buf = Buffer.alloc(size * size * 4);
  const c = (size - 1) / 2;
  const radius = size * 0.4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c);
      const alpha = Math.max(0, Math.min(1, radius + 0.5 - d));
      const i = (y * size + x) * 4;
      buf[i] = b;
      buf[i + 1] = g;
      buf[i + 2] = r;
      buf[i + 3] = Math.round(alpha * 255);
    }
  }
  return buf;
}
