/**
 * berth: the headless entry point and the composition root of web mode.
 *
 *   berth web [--engine native] [--engine-socket PATH] [--port N] [--no-open]
 *   berth dashboard [same flags]   the Electron app if it can run, else web mode
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { findBundledDir } from './bundled/bundled-images.js';
import { findInCheckout } from './engine/checkout-path.js';
import { berthHome, chooseEngine } from './engine/choose-engine.js';
import { createDashboardService } from './engine/dashboard-service.js';
import { findElectron } from './engine/electron-binary.js';
import { startWebServer } from './web/web-server.js';

const USAGE = `Usage: berth COMMAND [options]

Commands:
  web        serve the dashboard to your browser on 127.0.0.1
  dashboard  open the desktop app (Electron), or web mode when it cannot run

Options (web, dashboard):
  --engine native       run the engine natively (Linux, as root) under $BERTH_HOME (default ~/.berth)
  --engine-socket PATH  use the engine already serving this Docker API socket
  --port N              the dashboard's port (default: a free one)
  --no-open             do not open the browser`;

interface WebFlags {
  engine?: string;
  engineSocket?: string;
  port: number;
  open: boolean;
}

function parseWebFlags(args: string[]): WebFlags {
  const { values } = parseArgs({
    args,
    options: {
      engine: { type: 'string' },
      'engine-socket': { type: 'string' },
      port: { type: 'string', default: '0' },
      'no-open': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${values.port}`);
  if (values.engine && values['engine-socket']) throw new Error('--engine and --engine-socket exclude each other: choose one');
  return { engine: values.engine, engineSocket: values['engine-socket'], port, open: !values['no-open'] };
}

async function web(flags: WebFlags): Promise<void> {
  const target = chooseEngine({ engine: flags.engine, engineSocket: flags.engineSocket, home: berthHome() });
  target.onChange((s) => console.error(`engine: ${s.state}: ${s.message}`));
  const rendererDir = findInCheckout(join('apps', 'renderer', 'dist', 'index.html'))?.replace(/[/\\]index\.html$/, '');
  if (!rendererDir) console.error('warning: the dashboard is not built (apps/renderer/dist): run `npm run build:renderer`');
  const server = await startWebServer({ service: createDashboardService(target, { bundledDir: findBundledDir() }), rendererDir, port: flags.port });
  console.log(`Dashboard: ${server.url}`);
  if (flags.open) openBrowser(server.url);
  const engineStarted = target.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`berth: ${signal}, stopping`);
    await server.close();
    await engineStarted.catch(() => {});
    await target.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  await engineStarted;
  if (target.state.state === 'error') console.error(`The dashboard is up, but: ${target.state.message}`);
}

async function dashboard(args: string[]): Promise<void> {
  const flags = parseWebFlags(args);
  const electron = findElectron();
  if (!electron.ok) {
    console.error(`Opening the dashboard in your browser instead of the desktop app: ${electron.reason}`);
    return web(flags);
  }
  // The app reads its engine choice from the environment (electron/main.ts).
  const env = { ...process.env, BERTH_ENGINE: flags.engine ?? '', BERTH_ENGINE_SOCKET: flags.engineSocket ?? '' };
  const child = spawn(electron.binary, [electron.appMain], { stdio: 'inherit', env });
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** The system browser; if there is none, the printed link is enough. */
function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
  child.once('error', () => console.error(`Could not open a browser (${cmd}); open the link above yourself.`));
  child.unref();
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'web':
      return web(parseWebFlags(rest));
    case 'dashboard':
      return dashboard(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return;
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`berth: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
