/**
 * UDP over the SSH link. SSH has no datagram channel, so the host's port
 * forwarder opens one `exec` channel per host-side UDP peer with the command
 * `berth-udp-relay HOST PORT`; session.ts hands it here instead of a shell.
 *
 * Wire format, both directions: each datagram is a 2-byte big-endian length
 * followed by that many bytes (a UDP payload is at most 65507 bytes, so the
 * length always fits). Here one UDP socket per channel is connected to
 * HOST:PORT, which must be the guest itself (the same rule as direct-tcpip,
 * channel-policy.ts): a published port on the guest's loopback, where the
 * engine's port proxy listens. Replies go back on the same channel, so the
 * host can return them to the right peer. Closing the channel closes the
 * socket; UDP errors (an ICMP port unreachable) drop the datagram, as UDP does.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { ServerChannel } from 'ssh2';
import { allowTcpDestination, localAddresses } from './channel-policy.js';

export const UDP_RELAY_COMMAND = 'berth-udp-relay';

/** `berth-udp-relay HOST PORT` -> the destination, or undefined for any other command. */
export function parseUdpRelayCommand(command: string): { host: string; port: number } | undefined {
  const m = /^berth-udp-relay (\S+) (\d{1,5})$/.exec(command.trim());
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

/** Calls `onDatagram` for each complete length-prefixed frame in the byte stream it is fed. */
export function frameDecoder(onDatagram: (d: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      onDatagram(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
    }
  };
}

export function frame(datagram: Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(datagram.length);
  return Buffer.concat([head, datagram]);
}

/** Serves one relay channel (already accepted); refuses a destination outside the guest with exit status 1. */
export function serveUdpRelay(channel: ServerChannel, host: string, port: number, log: (m: string) => void): void {
  const dest = allowTcpDestination(host, port, localAddresses());
  if (!dest) {
    log(`ssh: refused UDP relay to ${host}:${port} (only the guest's own addresses)`);
    channel.stderr.write(`berth-agent: UDP relay to ${host}:${port} refused: only the guest's own addresses are served\n`);
    channel.exit(1);
    channel.end();
    return;
  }
  const socket = createSocket(isIP(dest) === 6 ? 'udp6' : 'udp4');
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    socket.close();
  };
  const queued: Buffer[] = [];
  let connected = false;
  socket.on('error', () => {}); // ECONNREFUSED from an ICMP unreachable: the datagram is lost, the relay stays
  socket.on('message', (msg) => channel.write(frame(msg)));
  socket.connect(port, dest, () => {
    connected = true;
    for (const d of queued.splice(0)) socket.send(d);
  });
  channel.on(
    'data',
    frameDecoder((d) => {
      if (closed) return;
      // Copied: the decoder's view shares the channel's chunk.
      if (connected) socket.send(Buffer.from(d));
      else queued.push(Buffer.from(d));
    }),
  );
  channel.on('close', close);
  channel.on('end', () => {
    close();
    if (!channel.destroyed) {
      channel.exit(0);
      channel.end();
    }
  });
}
