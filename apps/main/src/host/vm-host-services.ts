/**
 * What `berth start` runs on the host once the VM is booting: the link to
 * the agent, the port forwarder and the host Docker socket, and the `berth`
 * docker context. One call, one `close()`.
 *
 * Before the VM boots, the launcher calls `ensureLinkKeys(home)` and gives
 * the guest `publicKey` as /run/berth/authorized_key (the guest init then
 * starts the agent with `--ssh-listen 10.0.2.15:22 --ssh-authorized-key
 * /run/berth/authorized_key`), and forwards guest :22 to host
 * 127.0.0.1:`sshPort`.
 */
import { ensureLinkKeys, HostKeyPin } from '../link/keys.js';
import { VmLink } from '../link/vm-link.js';
import { ensureDockerContext } from './docker-context.js';
import { HostDockerSocket } from './host-socket.js';
import { hostSocketAddress } from '../util/berth-home.js';
import { PortForwarder } from './port-forwarder.js';

export interface VmHostServicesOptions {
  /** $BERTH_HOME. */
  home: string;
  /** The host port QEMU forwards to guest :22 (on 127.0.0.1). */
  sshPort: number;
  /** The agent's host key line if the VM build knows it; else pinned on first connect. */
  hostKey?: string;
  /** The agent's socket in the guest (default /run/berth/engine.sock). */
  engineSocket?: string;
  /** How long to wait for the agent's SSH (default 60 s; TCG boots are slow). */
  readyTimeoutMs?: number;
  /** Create/update the `berth` docker context (default true). */
  dockerContext?: boolean;
  log?: (message: string) => void;
  /** Gives up waiting for the agent (the VM it waits for was killed). */
  signal?: AbortSignal;
  /** Given the link as soon as it exists, before it is up (the VM daemon kicks it when the agent listens). */
  onLink?: (link: VmLink) => void;
}

export interface VmHostServices {
  link: VmLink;
  forwarder: PortForwarder;
  socket: HostDockerSocket;
  /** `unix://$BERTH_HOME/run/docker.sock` (a named pipe's `npipe://` on Windows): what to print as DOCKER_HOST. */
  dockerHost: string;
  close(): Promise<void>;
}

export async function startVmHostServices(opts: VmHostServicesOptions): Promise<VmHostServices> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const keys = ensureLinkKeys(opts.home);
  const pin = new HostKeyPin(opts.home);
  if (opts.hostKey) pin.pin(opts.hostKey);
  const link = new VmLink({
    host: '127.0.0.1',
    port: opts.sshPort,
    privateKey: keys.privateKey,
    verifyHostKey: pin.verify,
    hostKeyProblem: () => pin.lastMismatch,
    ...(opts.engineSocket ? { engineSocket: opts.engineSocket } : {}),
    log,
  });
  link.start();
  opts.onLink?.(link);
  const abandon = () => void link.close();
  opts.signal?.addEventListener('abort', abandon, { once: true });
  try {
    await link.whenReady(opts.readyTimeoutMs ?? 60_000);
    opts.signal?.throwIfAborted();
  } catch (err) {
    await link.close();
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', abandon);
  }
  const forwarder = new PortForwarder({ link, log });
  forwarder.start();
  let socket: HostDockerSocket;
  const address = hostSocketAddress(opts.home);
  try {
    socket = await HostDockerSocket.listen({ path: address.path, link, forwarder, log });
  } catch (err) {
    await forwarder.stop();
    await link.close();
    throw err;
  }
  const { dockerHost } = address;
  if (opts.dockerContext !== false) {
    try {
      ensureDockerContext({ host: dockerHost });
    } catch (err) {
      log(`cannot write the berth docker context: ${(err as Error).message} (DOCKER_HOST=${dockerHost} still works)`);
    }
  }
  return {
    link,
    forwarder,
    socket,
    dockerHost,
    close: async () => {
      await socket.close();
      await forwarder.stop();
      await link.close();
    },
  };
}
