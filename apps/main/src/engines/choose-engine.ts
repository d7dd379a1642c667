/**
 * Picks the engine target: an explicit socket, else an explicit `--engine`
 * (`native`: the agent on this Linux host, as root; `vm`), else the saved
 * setting `engineMode` (default: the Berth VM, started if it is not running).
 *
 * Only the settings-chosen target follows a later change of `engineMode`:
 * its restart() re-reads the setting and, when the mode changed, stops the
 * old engine (powering the VM off, so its host socket is free) and starts
 * the new one. An explicit flag is a one-off choice, as for the VM's
 * resources (settings.ts).
 */
import type { EngineState } from '@berth/api';
import { resolve } from 'node:path';
import { EngineStateHolder, NoEngine, type EngineTarget } from './engine-target.js';
import { NativeEngine } from './native-engine.js';
import { SocketEngine } from './socket-engine.js';
import { loadSettings, nativeUnavailable, type EngineModeChoice } from '../settings/settings.js';
import { VmEngine } from './vm-engine.js';
import { stopVm } from '../daemon/vm-control.js';

export interface EngineChoice {
  /** `native`, or undefined for the default. */
  engine?: string;
  /** An engine already serving this socket. */
  engineSocket?: string;
  home: string;
}

export function chooseEngine(choice: EngineChoice): EngineTarget {
  if (choice.engineSocket) return new SocketEngine(resolve(choice.engineSocket));
  if (choice.engine === undefined) return new SettingsEngine(choice.home);
  if (choice.engine === 'vm') return new VmEngine({ home: choice.home });
  if (choice.engine !== 'native') throw new Error(`unknown engine "${choice.engine}": use "vm" (the default) or "native" (Linux, root)`);
  return new NativeEngine({ home: choice.home });
}

/** The saved mode; a settings file that does not load leaves it to the VM, whose start reports the file's problem. */
function savedMode(home: string): EngineModeChoice {
  try {
    return loadSettings(home).engineMode;
  } catch {
    return 'vm';
  }
}

function targetFor(mode: EngineModeChoice, home: string): EngineTarget {
  if (mode === 'vm') return new VmEngine({ home });
  const why = nativeUnavailable();
  return why ? new NoEngine(`Settings choose the native engine, but ${why}. Choose the VM in Settings.`) : new NativeEngine({ home });
}

/** No engine (native chosen where it cannot run) can still be restarted: the restart re-reads the setting. */
function restartable(s: EngineState): EngineState {
  return s.mode === 'none' ? { ...s, canRestart: true } : s;
}

/** The target `engineMode` names, swapped on restart when the setting changed. */
export class SettingsEngine extends EngineStateHolder implements EngineTarget {
  #inner: EngineTarget;
  #mode: EngineModeChoice;
  #off: () => void;

  constructor(
    private readonly home: string,
    private readonly make: (mode: EngineModeChoice, home: string) => EngineTarget = targetFor,
  ) {
    const mode = savedMode(home);
    const inner = make(mode, home);
    super(restartable(inner.state));
    this.#mode = mode;
    this.#inner = inner;
    this.#off = inner.onChange((s) => this.set(restartable(s)));
  }

  start(): Promise<void> {
    return this.#inner.start();
  }

  stop(): Promise<void> {
    return this.#inner.stop();
  }

  async restart(): Promise<void> {
    const want = savedMode(this.home);
    if (want === this.#mode) return this.#inner.restart();
    await this.#inner.stop();
    if (this.#mode === 'vm') await stopVm(this.home).catch(() => {});
    this.#off();
    this.#mode = want;
    this.#inner = this.make(want, this.home);
    this.#off = this.#inner.onChange((s) => this.set(restartable(s)));
    this.set(restartable(this.#inner.state));
    await this.#inner.start();
  }
}
