/**
 * @berth/protocol: what main and the agent say to each other besides the
 * Docker API: the UDP relay's command and framing (udp-relay.ts), and the
 * port error both sides raise in dockerd's words (ports-not-available.ts).
 */
export * from './ports-not-available.js';
export * from './udp-relay.js';
