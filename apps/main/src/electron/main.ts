/**
 * The Electron app's composition root: one window on the dashboard, the
 * engine chosen as in web mode (BERTH_ENGINE / BERTH_ENGINE_SOCKET, set by
 * `berth dashboard`), the service served over IPC. Single instance: a
 * second launch focuses the first window.
 *
 * Not yet: tray, start at login, window state (issue 6).
 */
import { app, BrowserWindow, shell, type WebFrameMain } from 'electron';
import { fileURLToPath } from 'node:url';
import { findBundledDir } from '../bundled/bundled-images.js';
import { berthHome, chooseEngine } from '../engine/choose-engine.js';
import { createDashboardService } from '../engine/dashboard-service.js';
import { serveIpc } from './ipc.js';

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

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1200,
    height: 780,
    minWidth: 800,
    minHeight: 500,
    title: 'Berth',
    show: false,
    webPreferences: { preload: preloadFile, contextIsolation: true, nodeIntegration: false, sandbox: true },
  });
  win.once('ready-to-show', () => win.show());
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
  const target = chooseEngine({ engine: process.env.BERTH_ENGINE || undefined, engineSocket: process.env.BERTH_ENGINE_SOCKET || undefined, home: berthHome() });
  const service = createDashboardService(target, { bundledDir: findBundledDir(), openExternal: (url) => shell.openExternal(url) });
  serveIpc(service, (frame: WebFrameMain | null) => !!frame && isOurs(frame.url));
  await app.whenReady();
  let win = createWindow();
  app.on('second-instance', () => {
    if (win.isDestroyed()) win = createWindow();
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) win = createWindow();
  });
  void target.start();
  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    quitting = true;
    void target.stop().finally(() => app.quit());
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}

void main();
