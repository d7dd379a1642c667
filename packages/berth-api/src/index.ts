/**
 * @berth/api: the main/renderer contract. The service's calls and streams and
 * the envelopes both transports carry (berth-api.ts), the Docker API shapes
 * the host side reads (docker-types.ts), and the JSON-lines splitter both
 * sides read streams with (lines.ts).
 */
export * from './berth-api.js';
export * from './docker-types.js';
export * from './lines.js';
