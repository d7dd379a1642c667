/**
 * dockerd's words for a host port that cannot be bound, said by whichever
 * side fails to bind it: main for the host's listener
 * (apps/main/src/host/port-forwarder.ts), the agent for the guest's
 * (apps/vm-agent/src/network/port-proxy.ts). Clients and users match on
 * `Ports are not available: ...`, so both sides say it the same way.
 */

/** The host address and port being published. */
export interface PublishedAddress {
  proto: 'tcp' | 'udp';
  /** As the engine reports it ("0.0.0.0", "127.0.0.1", "::"). */
  hostIp: string;
  hostPort: number;
}

/** What the bind failed with: a Node system error has both. */
export interface BindFailure {
  code?: string;
  message: string;
}

const REASONS = new Map([
  ['EADDRINUSE', 'address already in use'],
  ['EACCES', 'permission denied'],
  ['EADDRNOTAVAIL', 'cannot assign requested address'],
]);

/** `Ports are not available: exposing port TCP 127.0.0.1:8080 -> 127.0.0.1:0: listen tcp 127.0.0.1:8080: bind: address already in use` */
export function portsNotAvailable(at: PublishedAddress, err: BindFailure): string {
  const why = REASONS.get(err.code ?? '') ?? err.message;
  // An IPv6 address is bracketed before its port, as Go (and so dockerd) writes it.
  const addr = at.hostIp.includes(':') ? `[${at.hostIp}]:${at.hostPort}` : `${at.hostIp}:${at.hostPort}`;
  return `Ports are not available: exposing port ${at.proto.toUpperCase()} ${addr} -> ${at.hostIp}:0: listen ${at.proto} ${addr}: bind: ${why}`;
}
