/**
 * Admission for the SSH server at the TCP level, before ssh2 reads a byte:
 * sshd's LoginGraceTime and MaxStartups, and a cap on connections in all.
 *
 * Why here and not in ssh2's 'connection' handler: ssh2 emits 'connection'
 * only once the peer has sent its identification line, so a peer that
 * connects and says nothing is never seen there; and `Connection.end()` on a
 * silent, half-open peer leaves the socket open. The gate holds the raw
 * socket from the listener's own 'connection' event and destroys it.
 *
 * Contract:
 * - `admit(socket)` either destroys the socket at once (over a limit) and
 *   returns false, or tracks it and returns true; the caller hands an
 *   admitted socket to ssh2.
 * - An admitted socket counts as unauthenticated until `authenticated()`
 *   names it (by its peer address, which is how ssh2 reports the client);
 *   if that has not happened within `loginGraceMs`, the socket is destroyed.
 * - A closed socket leaves every count at once.
 */
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** How long a connection may take to authenticate (sshd's LoginGraceTime). */
  loginGraceMs: number;
  /** Connections not yet authenticated (sshd's MaxStartups); one more is refused at once. */
  maxUnauthenticated: number;
  /** Connections in all, authenticated or not. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { loginGraceMs: 20_000, maxUnauthenticated: 8, maxConnections: 32 };

/** `ip:port` of the peer, as ssh2 reports it in its connection info. */
export function peerKey(ip: string | undefined, port: number | undefined): string {
  return `${ip ?? '?'}:${port ?? '?'}`;
}

export class ConnectionGate {
  private readonly open = new Set<Socket>();
  /** Unauthenticated sockets by peer key, with their grace timers. */
  private readonly pending = new Map<string, { socket: Socket; timer: NodeJS.Timeout }>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly log: (message: string) => void,
  ) {}

  admit(socket: Socket): boolean {
    const peer = peerKey(socket.remoteAddress, socket.remotePort);
    const refusal =
      this.open.size >= this.limits.maxConnections
        ? `${this.limits.maxConnections} connections are open`
        : this.pending.size >= this.limits.maxUnauthenticated
          ? `${this.limits.maxUnauthenticated} connections are still authenticating`
          : undefined;
    if (refusal) {
      this.log(`ssh ${peer}: refused: ${refusal}`);
      socket.destroy();
      return false;
    }
    this.open.add(socket);
    const timer = setTimeout(() => {
      this.log(`ssh ${peer}: not authenticated within ${this.limits.loginGraceMs / 1000} s; closing`);
      socket.destroy();
    }, this.limits.loginGraceMs);
    timer.unref();
    this.pending.set(peer, { socket, timer });
    socket.once('close', () => {
      this.open.delete(socket);
      const p = this.pending.get(peer);
      if (p?.socket === socket) {
        clearTimeout(p.timer);
        this.pending.delete(peer);
      }
    });
    return true;
  }

  /** The peer has authenticated: it no longer counts against the grace time or the unauthenticated cap. */
  authenticated(peer: string): void {
    const p = this.pending.get(peer);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(peer);
  }

  /** Destroys every socket still open (server shutdown). */
  destroyAll(): void {
    for (const s of this.open) s.destroy();
  }

  get counts(): { open: number; unauthenticated: number } {
    return { open: this.open.size, unauthenticated: this.pending.size };
  }
}
