/**
 * The Electron app's composition root: one window on the dashboard, the
 * engine chosen as in web mode (BERTH_ENGINE / BERTH_ENGINE_SOCKET, set by
 * `berth dashboard`), the service served over IPC. Single instance: a
 * second launch focuses the first window. A tray icon shows the engine's
 * state and quick actions; closing the window leaves the app in the tray
 * (Quit there, or from the app menu, stops the engine). The window's bounds
 * are kept in $BERTH_HOME; start at login is the OS login item, set from
 * the Settings page.
 */
import { app, BrowserWindow, dialog, screen, shell, type Tray, type WebFrameMain } from 'electron';
import { fileURLToPath } from 'node:url';
import { findBundledDir } from '../bundled/bundled-images.js';
import { chooseEngine } from '../engines/choose-engine.js';
import { berthHome } from '../util/berth-home.js';
import { createDashboardService } from '../dashboard/dashboard-service.js';
import { stopVm } from '../daemon/vm-control.js';
import { serveIpc } from './ipc.js';
import { createTray } from './tray.js';
import { loadWindowState, saveWindowState } from './window-bounds.js';

const rendererUrl = process.env.ELECTRON_RENDERER_URL; // electron-vite dev server
const rendererFile = fileURLToPath(new URL('../renderer/index.html', import.meta.url));
const preloadFile = fileURLToPath(new URL('../preload/preload.cjs', import.meta.url));

function isOurs(url: string): boolean {
  if (rendererUrl) return url.startsWith(rendererUrl);
  try {
    return fileURLToPath(new URL(url).href.replace(/#.*$/, '')) === rendererFile;
  } catch {
    return false;
  }
}

function createWindow(home: string): BrowserWindow {
  const saved = loadWindowState(
    home,
    screen.getAllDisplays().map((d) => d.workArea),
  );
  const win = new BrowserWindow({
    ...(saved ? saved.bounds : { width: 1200, height: 780 }),
    minWidth: 800,
    minHeight: 500,
    title: 'Berth',
    show: false,
    webPreferences: { preload: preloadFile, contextIsolation: true, nodeIntegration: false, sandbox: true },
  });
  win.once('ready-to-show', () => {
    if (saved?.maximized) win.maximize();
    win.show();
  });
  // Saved on close only: one write per window, never while dragging.
  win.on('close', () => {
    try {
      saveWindowState(home, { bounds: win.getNormalBounds(), maximized: win.isMaximized() });
    } catch (err) {
      console.error(`could not save the window state: ${(err as Error).message}`);
    }
  });
  // Links (published ports) open in the system browser; the window never leaves the dashboard.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (event, url) => {
    if (!isOurs(url)) event.preventDefault();
  });
  if (rendererUrl) void win.loadURL(rendererUrl);
  else void win.loadFile(rendererFile);
  return win;
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  const home = berthHome();
  const target = chooseEngine({ engine: process.env.BERTH_ENGINE || undefined, engineSocket: process.env.BERTH_ENGINE_SOCKET || undefined, home });
  let win: BrowserWindow | undefined;
  const service = createDashboardService(target, {
    bundledDir: findBundledDir(),
    home,
    openExternal: (url) => shell.openExternal(url),
    pickFolder: async () => {
      const options = { title: 'Build context', properties: ['openDirectory' as const] };
      const r = win && !win.isDestroyed() ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    loginItem: {
      get: () => app.getLoginItemSettings().openAtLogin,
      set: (on) => app.setLoginItemSettings({ openAtLogin: on }),
    },
  });
  serveIpc(service, (frame: WebFrameMain | null) => !!frame && isOurs(frame.url));
  await app.whenReady();
  const openDashboard = () => {
    if (!win || win.isDestroyed()) win = createWindow(home);
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  };
  openDashboard();
  app.on('second-instance', openDashboard);
  app.on('activate', openDashboard);
  // Kept for the app's life: a collected Tray disappears.
  const stopEngine = async () => {
    const vm = target.state.mode === 'vm';
    await target.stop();
    // The VM outlives a disconnect (other clients may use it): the tray's Stop powers it off, as `berth stop` does.
    if (vm) await stopVm(home).catch((err: Error) => console.error(`stopping the VM: ${err.message}`));
  };
  const tray: Tray = createTray(target, { openDashboard, stopEngine, quit: () => app.quit() });
  void tray;
  void target.start();
  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    quitting = true;
    void target.stop().finally(() => app.quit());
  });
  // The tray keeps the app (and the engine) running with no window; Quit is in its menu.
  app.on('window-all-closed', () => {});
}

void main();
