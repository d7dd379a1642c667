/**
 * UDP over the SSH link, as both ends speak it. SSH has no datagram channel,
 * so main's port forwarder opens one `exec` channel per host-side UDP peer
 * with the command `berth-udp-relay HOST PORT`, and the agent serves that
 * command as a relay to HOST:PORT in the guest instead of running it
 * (apps/main/src/host/port-forwarder.ts, apps/vm-agent/src/ssh/udp-relay.ts).
 *
 * Wire format, both directions: each datagram is a 2-byte big-endian length
 * followed by that many bytes. Bytes are Uint8Array here (a Node Buffer is
 * one), so this file needs no platform.
 */

/** The exec command that opens a relay channel. */
export const UDP_RELAY_COMMAND = 'berth-udp-relay';

/** The largest datagram a frame can carry: a UDP payload is at most 65,507 bytes over IPv4 and 65,527 over IPv6, so each one fits. */
export const MAX_FRAMED_DATAGRAM = 0xffff;

/** The exec command for a relay to HOST:PORT in the guest. */
export function udpRelayCommand(host: string, port: number): string {
  return `${UDP_RELAY_COMMAND} ${host} ${port}`;
}

const COMMAND = new RegExp(`^${UDP_RELAY_COMMAND} (\\S+) (\\d{1,5})$`);

/** `berth-udp-relay HOST PORT` -> the destination, or undefined for any other command. */
export function parseUdpRelayCommand(command: string): { host: string; port: number } | undefined {
  const m = COMMAND.exec(command.trim());
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

/** One datagram as a frame: its length (2 bytes, big-endian), then its bytes. */
export function frameDatagram(datagram: Uint8Array): Uint8Array {
  if (datagram.length > MAX_FRAMED_DATAGRAM) {
    throw new RangeError(`a UDP relay frame carries at most ${MAX_FRAMED_DATAGRAM} bytes; this datagram has ${datagram.length}`);
  }
  const frame = new Uint8Array(2 + datagram.length);
  new DataView(frame.buffer).setUint16(0, datagram.length);
  frame.set(datagram, 2);
  return frame;
}

/**
 * Calls `onDatagram` for each complete frame in the byte stream it is fed,
 * however the stream was cut into chunks. Each datagram is a copy, so it may
 * be kept or sent later while the chunk it came in is reused.
 */
export function datagramDecoder(onDatagram: (datagram: Uint8Array) => void): (chunk: Uint8Array) => void {
  let buf: Uint8Array = new Uint8Array(0);
  return (chunk) => {
    buf = buf.length ? concat(buf, chunk) : chunk;
    while (buf.length >= 2) {
      const len = (buf[0]! << 8) | buf[1]!;
      if (buf.length < 2 + len) break;
      onDatagram(new Uint8Array(buf.subarray(2, 2 + len)));
      buf = buf.subarray(2 + len);
    }
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
