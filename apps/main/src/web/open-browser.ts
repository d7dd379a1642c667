/**
 * Opens the dashboard in the system browser without putting the token in
 * any process's argv (which `ps` shows every user): the browser is given the
 * path of a 0600 page under `$BERTH_HOME/run` that sends it on to the
 * tokened link, and the token stays in that file, readable by this user only.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';

/** The launch page's path for the dashboard on `port` (one per port, so two `berth web` do not race). */
export function launchPagePath(runDir: string, port: number): string {
  return join(runDir, `dashboard-${port}.html`);
}

/** The page: location.replace keeps the launch page out of the history, so Back does not return to it. */
export function launchPage(url: string): string {
  const target = JSON.stringify(url).replace(/</g, '\\u003c');
  return `<!doctype html>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>Berth</title>
<script>location.replace(${target});</script>
<noscript>Berth's dashboard needs JavaScript.</noscript>
`;
}

/** Writes the launch page (atomically, 0600) and returns its path. */
export function writeLaunchPage(runDir: string, port: number, url: string): string {
  const path = launchPagePath(runDir, port);
  writeFileAtomic(path, launchPage(url), 0o600);
  return path;
}

export function removeLaunchPage(runDir: string, port: number): void {
  rmSync(launchPagePath(runDir, port), { force: true });
}

/** The command that opens `file` in the default browser on `platform`. */
export function browserCommand(file: string, platform: NodeJS.Platform = process.platform): [string, string[]] {
  if (platform === 'darwin') return ['open', [file]];
  // `start` takes a first quoted argument as the window's title: give it an empty one.
  if (platform === 'win32') return ['cmd', ['/c', 'start', '""', file]];
  return ['xdg-open', [file]];
}

/** The system browser on the launch page; if there is none, the printed link is enough. */
export function openBrowser(runDir: string, port: number, url: string): void {
  let page: string;
  try {
    page = writeLaunchPage(runDir, port, url);
  } catch (err) {
    // Never fall back to the link in argv: the dashboard is up, the user opens the printed link.
    console.error(`Could not write the browser's launch page (${(err as Error).message}); open the link above yourself.`);
    return;
  }
  const [cmd, args] = browserCommand(page);
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  child.once('error', () => console.error(`Could not open a browser (${cmd}); open the link above yourself.`));
  child.unref();
}
