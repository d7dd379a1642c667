/**
 * The preload (sandboxed, context-isolated): exposes exactly the BerthBridge
 * of @berth/api (packages/berth-api) as `window.berth`, nothing of ipcRenderer itself.
 * Names outside the declared API are refused here, before any IPC.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { isCallName, isStreamName, type BerthBridge, type StreamMessage } from '@berth/api';
import { IPC } from './ipc-channels.js';

const listeners = new Map<string, (m: StreamMessage) => void>();
let nextId = 0;

ipcRenderer.on(IPC.streamMessage, (_event, id: string, m: StreamMessage) => {
  const fn = listeners.get(id);
  if (!fn) return;
  if ('end' in m || 'error' in m) listeners.delete(id);
  fn(m);
});

const bridge: BerthBridge = {
  async call(name, args) {
    if (!isCallName(name)) return { ok: false, error: { message: `no such call: ${name}`, name: 'BadRequest', status: 404 } };
    return ipcRenderer.invoke(IPC.call, name, args);
  },
  stream(name, args, onMessage) {
    if (!isStreamName(name)) {
      onMessage({ error: { message: `no such stream: ${name}`, name: 'BadRequest', status: 404 } });
      return () => {};
    }
    const id = `s${nextId++}`;
    listeners.set(id, onMessage);
    ipcRenderer.send(IPC.streamOpen, id, name, args);
    return () => {
      if (listeners.delete(id)) ipcRenderer.send(IPC.streamClose, id);
    };
  },
};

contextBridge.exposeInMainWorld('berth', bridge);
