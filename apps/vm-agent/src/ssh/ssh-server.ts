/**
 * The agent's SSH server: how the host reaches the engine in the VM.
 *
 * - Listens only on the address given (`--ssh-listen HOST:PORT`); in the VM
 *   that is 10.0.2.15:22, eth0's address, where QEMU's forward from the
 *   host's 127.0.0.1 arrives (not the container bridges; a guest INPUT rule
 *   refuses :22 arriving anywhere but eth0, resources/vm/guest/rc.init).
 * - Public-key auth only, against the one authorized key (the host's; see
 *   authorized-key.ts). Password, keyboard-interactive, none and host-based
 *   are refused; only `publickey` is ever offered. The key file is re-read
 *   for each connection, so a new host key works without restarting.
 * - Channels: `direct-streamlocal@openssh.com` to the engine socket only,
 *   `direct-tcpip` to the guest itself (channel-policy.ts), and `session`
 *   for exec/shell (session.ts). Remote forwards (`tcpip-forward`,
 *   `streamlocal-forward`) are refused.
 * - Keepalives every 10 s; a host that misses three is dropped.
 * - Limits (connection-gate.ts): 20 s to authenticate, at most 8 connections
 *   authenticating and 32 in all; over a limit or past the grace time the
 *   socket is destroyed. The TCP listener is ours, not ssh2's, so the gate
 *   holds every raw socket; ssh2 gets the admitted ones (`injectSocket`).
 */
import { connect, createServer } from 'node:net';
import ssh2, { type AuthContext, type Connection } from 'ssh2';
import { AuthorizedKey } from './authorized-key.js';
import { allowStreamLocal, allowTcpDestination, localAddresses } from './channel-policy.js';
import { ConnectionGate, type ConnectionLimits, DEFAULT_CONNECTION_LIMITS, peerKey } from './connection-gate.js';
import { serveSession } from './session.js';

export interface SshServerOptions {
  /** `HOST:PORT` (`[::1]:22` for IPv6). Port 0 picks a free port (tests). */
  listen: string;
  /** File with the host's public key (authorized_keys form). */
  authorizedKeyFile: string;
  /** The server's private host key (OpenSSH format). */
  hostKey: string;
  /** The Docker API socket, the only streamlocal destination. */
  engineSocket: string;
  log?: (message: string) => void;
  /** Default DEFAULT_CONNECTION_LIMITS (tests shorten the grace time). */
  limits?: Partial<ConnectionLimits>;
}

export interface SshServer {
  /** Where it listens, as `HOST:PORT` with the real port. */
  readonly address: string;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--ssh-listen must be HOST:PORT (e.g. 10.0.2.15:22), got "${listen}"`);
  return { host: (m[1] ?? m[2])!, port };
}

export async function startSshServer(opts: SshServerOptions): Promise<SshServer> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const { host, port } = parseListen(opts.listen);
  // Fail at start-up, not at the first login, when the key file is wrong.
  await AuthorizedKey.load(opts.authorizedKeyFile);
  const clients = new Set<Connection>();
  const gate = new ConnectionGate({ ...DEFAULT_CONNECTION_LIMITS, ...opts.limits }, log);

  const ssh = new ssh2.Server({ hostKeys: [opts.hostKey], ident: 'berth-agent', keepaliveInterval: 10_000, keepaliveCountMax: 3 }, (client, info) => {
    clients.add(client);
    const peer = peerKey(info.ip, info.port);
    client.on('error', (err) => log(`ssh ${peer}: ${err.message}`));
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => authenticate(ctx, opts.authorizedKeyFile, peer, log));
    client.on('ready', () => {
      gate.authenticated(peer);
      serveClient(client, opts.engineSocket, log);
    });
  });
  const server = createServer((socket) => {
    if (gate.admit(socket)) ssh.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err: Error) => log(`ssh server: ${err.message}`));
  const addr = server.address() as { address: string; port: number };
  const address = `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        // end() leaves a silent peer's socket open; close() waits for every socket.
        gate.destroyAll();
        server.close(() => resolve());
      }),
  };
}

function authenticate(ctx: AuthContext, keyFile: string, peer: string, log: (m: string) => void): void {
  if (ctx.method !== 'publickey') {
    ctx.reject(['publickey']);
    return;
  }
  AuthorizedKey.load(keyFile).then(
    (authorized) => {
      if (!authorized.matches(ctx.key.algo, ctx.key.data)) {
        log(`ssh ${peer}: refused public key for "${ctx.username}" (not the authorized key)`);
        return ctx.reject(['publickey']);
      }
      // Without a signature the client only asks whether the key would do.
      if (!ctx.signature || !ctx.blob) return ctx.accept();
      if (authorized.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
        log(`ssh ${peer}: bad signature for the authorized key`);
        return ctx.reject(['publickey']);
      }
      ctx.accept();
    },
    (err: Error) => {
      log(`ssh ${peer}: ${err.message}`);
      ctx.reject(['publickey']);
    },
  );
}

function serveClient(client: Connection, engineSocket: string, log: (m: string) => void): void {
  client.on('openssh.streamlocal', (accept, reject, info) => {
    if (!allowStreamLocal(info.socketPath, engineSocket)) {
      log(`ssh: refused streamlocal to ${info.socketPath} (only ${engineSocket} is served)`);
      return reject();
    }
    const upstream = connect(engineSocket);
    relayWhenConnected(upstream, accept, reject);
  });
  client.on('tcpip', (accept, reject, info) => {
    const dest = allowTcpDestination(info.destIP, Number(info.destPort), localAddresses());
    if (!dest) {
      log(`ssh: refused direct-tcpip to ${info.destIP}:${info.destPort} (only the guest's own addresses)`);
      return reject();
    }
    const upstream = connect({ host: dest, port: Number(info.destPort) });
    upstream.setNoDelay(true);
    relayWhenConnected(upstream, accept, reject);
  });
  client.on('session', (accept) => serveSession(accept(), log));
  client.on('request', (_accept, reject) => reject?.());
}

/** Accepts the channel once the upstream connects (refuses it if that fails), then relays both ways. */
function relayWhenConnected(upstream: import('node:net').Socket, accept: () => import('ssh2').ServerChannel, reject: () => void): void {
  const onError = () => reject();
  upstream.once('error', onError);
  upstream.once('connect', () => {
    upstream.off('error', onError);
    const channel = accept();
    upstream.pipe(channel);
    channel.pipe(upstream);
    // Errors end both sides: a reset upstream closes the channel and vice versa.
    upstream.on('error', () => channel.destroy());
    channel.on('error', () => upstream.destroy());
    channel.on('close', () => upstream.destroy());
    upstream.on('close', () => channel.end());
  });
}
