/**
 * UDP over the SSH link. SSH has no datagram channel, so the host's port
 * forwarder opens one `exec` channel per host-side UDP peer with the command
 * `berth-udp-relay HOST PORT`; session.ts hands it here instead of a shell.
 * The command and the wire format (each datagram as a 2-byte big-endian
 * length and its bytes, both directions) are @berth/protocol's, which main
 * speaks too.
 *
 * Here one UDP socket per channel is connected to HOST:PORT, which must be
 * the guest itself (the same rule as direct-tcpip, channel-policy.ts): a
 * published port on the guest's loopback, where the engine's port proxy
 * listens. Replies go back on the same channel, so the
 * host can return them to the right peer. Closing the channel closes the
 * socket; UDP errors (an ICMP port unreachable) drop the datagram, as UDP does.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { datagramDecoder, frameDatagram } from '@berth/protocol';
import type { ServerChannel } from 'ssh2';
import { allowTcpDestination, localAddresses } from './channel-policy.js';

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
  const queued: Uint8Array[] = [];
  let connected = false;
  socket.on('error', () => {}); // ECONNREFUSED from an ICMP unreachable: the datagram is lost, the relay stays
  socket.on('message', (msg) => channel.write(frameDatagram(msg)));
  socket.connect(port, dest, () => {
    connected = true;
    for (const d of queued.splice(0)) socket.send(d);
  });
  channel.on(
    'data',
    datagramDecoder((d) => {
      if (closed) return;
      // Each datagram is the decoder's own copy, so it may wait in the queue.
      if (connected) socket.send(d);
      else queued.push(d);
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
