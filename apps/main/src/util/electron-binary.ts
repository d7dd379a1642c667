/**
 * Whether the Electron app can be launched here, and with what. Electron is
 * an optional dependency whose binary is downloaded by its install script,
 * which this project's npm settings deny by default: when the binary is
 * missing, the caller falls back to web mode and prints `reason`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { findInCheckout } from './checkout-path.js';

/** Where electron-vite writes the main process bundle (electron.vite.config.ts). */
export const ELECTRON_MAIN_BUNDLE = join('apps', 'main', 'dist', 'electron', 'main', 'main.js');

export type ElectronLaunch = { ok: true; binary: string; appMain: string } | { ok: false; reason: string };

export function findElectron(env: NodeJS.ProcessEnv = process.env, platform = process.platform): ElectronLaunch {
  let pkgDir: string;
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { ok: false, reason: 'the electron package is not installed (it is an optional dependency).' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const binary = existsSync(pathFile) ? join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim()) : undefined;
  if (!binary || !existsSync(binary)) {
    return {
      ok: false,
      reason:
        "Electron's binary is not installed (node_modules/electron/dist is missing: its download at install time is blocked here). " +
        'To use the desktop app, run `npm install-scripts approve electron && npm rebuild electron` where the download is allowed.',
    };
  }
  const appMain = findInCheckout(ELECTRON_MAIN_BUNDLE);
  if (!appMain) return { ok: false, reason: 'the Electron app is not built: run `npx electron-vite build`.' };
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { ok: false, reason: 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set).' };
  }
  return { ok: true, binary, appMain };
}
