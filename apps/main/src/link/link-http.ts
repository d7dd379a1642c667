/**
 * The agent's Docker API over the link, as an endpoint of main's one engine
 * client (util/engine-client.ts): each request on its own streamlocal
 * channel. The port forwarder, the start gate and the VM daemon ask the
 * engine through it. A link that is down fails the request with the link's
 * own error, which says so.
 */
import type { EngineEndpoint } from '../util/engine-client.js';
import type { VmLink } from './vm-link.js';

export function linkEngine(link: VmLink): EngineEndpoint {
  return { connect: () => link.openEngineStream() };
}
