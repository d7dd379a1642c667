/**
 * The tray icon: the engine's state as a coloured dot and in the tooltip,
 * and quick actions (open the dashboard, start or stop the engine, quit).
 * The menu is rebuilt on every state change, so it offers what applies now.
 */
import { Menu, Tray, nativeImage } from 'electron';
import type { EngineState } from '@berth/api';
import type { EngineTarget } from '../engines/engine-target.js';
import { dotBitmap } from './tray-icon.js';

export interface TrayActions {
  openDashboard(): void;
  /** Stops the engine itself (for the VM: powers it off, where target.stop() only disconnects). */
  stopEngine(): Promise<void>;
  quit(): void;
}

const SIZE = 16;

export function createTray(target: EngineTarget, actions: TrayActions): Tray {
  const icon = (s: EngineState) => nativeImage.createFromBitmap(dotBitmap(s.state, SIZE), { width: SIZE, height: SIZE });
  const tray = new Tray(icon(target.state));
  const update = (s: EngineState) => {
    tray.setImage(icon(s));
    tray.setToolTip(`Berth: engine ${s.state} — ${s.message}`);
    const busy = s.state === 'starting';
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: `Engine: ${s.state}`, enabled: false },
        { type: 'separator' },
        { label: 'Open dashboard', click: actions.openDashboard },
        s.state === 'running' || busy
          ? { label: 'Stop engine', enabled: !busy, click: () => void actions.stopEngine() }
          : { label: 'Start engine', click: () => void target.start() },
        { type: 'separator' },
        { label: 'Quit Berth', click: actions.quit },
      ]),
    );
  };
  update(target.state);
  target.onChange(update);
  tray.on('click', actions.openDashboard);
  return tray;
}
