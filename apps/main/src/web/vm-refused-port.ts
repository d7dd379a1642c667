/**
 * Keeps the dashboard's port out of reach from inside the VM.
 *
 * QEMU's user network lets anything in the guest dial the host's 127.0.0.1
 * as 10.0.2.2, this port included. The agent keeps a firewall chain of the
 * host ports nothing in the VM may dial (vm-agent network/host-controls.ts);
 * this asks it to add the dashboard's port whenever the VM engine is running
 * (after each boot too: the chain lives in the guest's kernel) and to drop it
 * when the dashboard stops. Other engines (native, a socket) have no such
 * route to the host and are left alone.
 */
import { engineErrorMessage, engineFetch } from '../util/engine-client.js';
import type { EngineState } from '@berth/api';

/** What this needs of an engine target (engines/engine-target.ts): its state and its changes. */
export interface EngineStates {
  readonly state: EngineState;
  onChange(fn: (s: EngineState) => void): () => void;
}

export interface RefusedPort {
  /** Asks the agent to let the port through again and stops following the engine. */
  release(): Promise<void>;
}

export function refuseFromVm(target: EngineStates, port: number, log: (message: string) => void): RefusedPort {
  const path = `/berth/host-controls/${port}`;
  const vmSocket = (s: EngineState) => (s.state === 'running' && s.mode === 'vm' ? s.socket : undefined);
  const call = async (socket: string, method: 'PUT' | 'DELETE') => {
    try {
      const res = await engineFetch(socket, { method, path, timeoutMs: 10_000 });
      if (res.status !== 204) throw new Error(engineErrorMessage(res.status, res.body));
    } catch (err) {
      const what = method === 'PUT' ? 'refuse' : 'stop refusing';
      log(`could not ask the VM to ${what} the dashboard's port ${port} to containers: ${(err as Error).message}`);
    }
  };
  let pending: Promise<void> = Promise.resolve();
  const onState = (s: EngineState) => {
    const socket = vmSocket(s);
    if (socket) pending = pending.then(() => call(socket, 'PUT'));
  };
  const unsubscribe = target.onChange(onState);
  onState(target.state);
  return {
    release: async () => {
      unsubscribe();
      await pending;
      const socket = vmSocket(target.state);
      if (socket) await call(socket, 'DELETE');
    },
  };
}
