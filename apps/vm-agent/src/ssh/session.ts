/**
 * SSH `session` channels: `exec` and `shell`, as root on the guest (not in a
 * container), with or without a pty.
 *
 * With a pty the process comes from the runtime's exec (runtime/exec.ts)
 * aimed at the agent's own pid: it joins the agent's namespaces (the host's
 * own, a no-op), gets a real pty that is its controlling terminal, and
 * `window-change` resizes it. The full capability set is kept: this is the
 * root shell `berth shell` promises. Without a pty a plain child process with
 * pipes is enough (stderr goes to the channel's stderr).
 *
 * Exit codes and signals are reported with `exit-status` / `exit-signal`.
 * The exec command `berth-udp-relay HOST PORT` (without a pty) is not run:
 * it is the host forwarder's datagram relay (udp-relay.ts).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import { CAPABILITIES } from '../runtime/capabilities.js';
import { execInContainer } from '../runtime/exec.js';
import type { ContainerProcess } from '../runtime/process.js';
import { parseUdpRelayCommand } from '@berth/protocol';
import { serveUdpRelay } from './udp-relay.js';

const BASE_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  USER: 'root',
  LOGNAME: 'root',
  SHELL: '/bin/sh',
};
/** Names a client may set with `env` requests (as OpenSSH's default AcceptEnv). */
const ACCEPTED_ENV = /^(LANG|LC_[A-Z_]+|TERM|COLORTERM)$/;

type Report = (message: string) => void;

export function serveSession(session: Session, log: Report): void {
  let pty: PseudoTtyInfo | undefined;
  const env: Record<string, string> = { ...BASE_ENV };
  let running: ContainerProcess | undefined;
  let pending: { cols: number; rows: number } | undefined;

  session.on('pty', (accept, _reject, info) => {
    pty = info;
    env.TERM = info.term || 'xterm';
    accept?.();
  });
  session.on('env', (accept, reject, info) => {
    if (ACCEPTED_ENV.test(info.key)) {
      env[info.key] = info.val;
      accept?.();
    } else reject?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    accept?.();
    if (running) running.resize(info.cols, info.rows);
    else pending = { cols: info.cols, rows: info.rows };
  });
  const start = (channel: ServerChannel, args: string[]) => {
    if (pty) {
      const size = pending ?? { cols: pty.cols || 80, rows: pty.rows || 24 };
      runWithPty(channel, args, env, size, log).then(
        (p) => (running = p),
        () => {},
      );
    } else {
      runWithPipes(channel, args, env, log);
    }
  };
  session.on('shell', (accept) => {
    const channel = accept();
    start(channel, pty ? ['/bin/sh', '-l'] : ['/bin/sh', '-i']);
  });
  session.on('exec', (accept, _reject, info) => {
    const channel = accept();
    const relay = pty ? undefined : parseUdpRelayCommand(info.command);
    if (relay) return serveUdpRelay(channel, relay.host, relay.port, log);
    start(channel, ['/bin/sh', '-c', info.command]);
  });
  // sftp, subsystems, agent and X11 forwarding are not offered: ssh2 refuses
  // requests that have no listener.
}

/** The capabilities the agent itself holds (CapEff): all a root shell can have on this kernel. */
function agentCapabilities(): string[] {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  const eff = BigInt(`0x${hex}`);
  return Object.entries(CAPABILITIES)
    .filter(([, n]) => (eff >> BigInt(n)) & 1n)
    .map(([name]) => name);
}

function finish(channel: ServerChannel, code: number | null, signal: NodeJS.Signals | null): void {
  if (channel.destroyed) return;
  if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
  else channel.exit(code ?? 255);
  channel.end();
}

function runWithPipes(channel: ServerChannel, args: string[], env: Record<string, string>, log: Report): void {
  const child = spawn(args[0]!, args.slice(1), { env, cwd: '/root', stdio: ['pipe', 'pipe', 'pipe'] });
  child.on('error', (err) => {
    log(`ssh session: cannot run ${args.join(' ')}: ${err.message}`);
    channel.stderr.write(`berth-agent: cannot run ${args[0]}: ${err.message}\n`);
    finish(channel, 127, null);
  });
  child.stdin.on('error', () => {});
  channel.pipe(child.stdin);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  let outputs = 2;
  let exit: [number | null, NodeJS.Signals | null] | undefined;
  const maybeFinish = () => {
    if (outputs === 0 && exit) finish(channel, exit[0], exit[1]);
  };
  child.stdout.on('end', () => (outputs--, maybeFinish()));
  child.stderr.on('end', () => (outputs--, maybeFinish()));
  child.on('exit', (code, signal) => ((exit = [code, signal]), maybeFinish()));
  channel.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGHUP');
  });
}

async function runWithPty(
  channel: ServerChannel,
  args: string[],
  env: Record<string, string>,
  size: { cols: number; rows: number },
  log: Report,
): Promise<ContainerProcess> {
  let proc: ContainerProcess;
  try {
    proc = await execInContainer(process.pid, {
      args,
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      cwd: '/root',
      tty: true,
      consoleSize: size,
      capabilities: agentCapabilities(),
    });
  } catch (err) {
    log(`ssh session: cannot start ${args.join(' ')} on a pty: ${(err as Error).message}`);
    channel.stderr.write(`berth-agent: cannot start a shell: ${(err as Error).message}\r\n`);
    finish(channel, 255, null);
    throw err;
  }
  const term = proc.pty as Duplex;
  channel.pipe(term);
  term.pipe(channel, { end: false });
  let drained = false;
  let exit: [number | null, NodeJS.Signals | null] | undefined;
  const maybeFinish = () => {
    if (drained && exit) finish(channel, exit[0], exit[1]);
  };
  term.on('end', () => ((drained = true), maybeFinish()));
  term.on('error', () => ((drained = true), maybeFinish()));
  proc.exited.then((s) => {
    exit = [s.exitCode, s.signal];
    // The pty gives EIO (end) once the last holder of the slave is gone; a
    // background job may keep it open, so do not wait for that forever.
    setTimeout(() => ((drained = true), maybeFinish()), 200).unref();
    maybeFinish();
  });
  channel.on('close', () => {
    proc.kill('SIGHUP');
    term.destroy();
  });
  return proc;
}
