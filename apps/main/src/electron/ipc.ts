/**
 * Serves the dashboard service to the window over IPC, with the same
 * dispatch (and so the same names, envelopes and errors) as web mode's HTTP.
 * Only our own renderer's frames are answered.
 */
import { ipcMain, type WebContents, type WebFrameMain } from 'electron';
import type { BerthService } from '../contract/berth-service.js';
import { dispatchCall, dispatchStream } from '../contract/dispatch.js';
import { IPC } from './ipc-channels.js';

export function serveIpc(service: BerthService, isTrusted: (frame: WebFrameMain | null) => boolean): void {
  const open = new Map<WebContents, Map<string, AbortController>>();

  ipcMain.handle(IPC.call, (event, name: unknown, args: unknown) => {
    if (!isTrusted(event.senderFrame)) return { ok: false, error: { message: 'untrusted frame', name: 'Forbidden', status: 403 } };
    return dispatchCall(service, name, args);
  });

  ipcMain.on(IPC.streamOpen, (event, id: unknown, name: unknown, args: unknown) => {
    if (typeof id !== 'string' || !isTrusted(event.senderFrame)) return;
    const sender = event.sender;
    let streams = open.get(sender);
    if (!streams) {
      const created = new Map<string, AbortController>();
      open.set(sender, created);
      // A closed or reloaded window releases its engine requests.
      sender.once('destroyed', () => {
        for (const c of created.values()) c.abort();
        open.delete(sender);
      });
      streams = created;
    }
    const ctl = new AbortController();
    streams.set(id, ctl);
    void dispatchStream(service, name, args, ctl.signal, (m) => {
      if (!sender.isDestroyed()) sender.send(IPC.streamMessage, id, m);
    }).finally(() => streams.delete(id));
  });

  ipcMain.on(IPC.streamClose, (event, id: unknown) => {
    if (typeof id === 'string') open.get(event.sender)?.get(id)?.abort();
  });
}
