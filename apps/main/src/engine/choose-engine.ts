/**
 * Picks the engine target from the command line: an explicit socket, else
 * `--engine native` (the agent on this Linux host, as root), else the Berth
 * VM, the default (started if it is not running).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EngineTarget } from './engine-target.js';
import { NativeEngine } from './native-engine.js';
import { SocketEngine } from './socket-engine.js';
import { VmEngine } from '../vm/vm-engine.js';

export interface EngineChoice {
  /** `native`, or undefined for the default. */
  engine?: string;
  /** An engine already serving this socket. */
  engineSocket?: string;
  home: string;
}

/** `$BERTH_HOME`, default `~/.berth`. */
export function berthHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.BERTH_HOME || join(homedir(), '.berth'));
}

export function chooseEngine(choice: EngineChoice): EngineTarget {
  if (choice.engineSocket) return new SocketEngine(resolve(choice.engineSocket));
  if (choice.engine === undefined || choice.engine === 'vm') return new VmEngine({ home: choice.home });
  if (choice.engine !== 'native') throw new Error(`unknown engine "${choice.engine}": use "vm" (the default) or "native" (Linux, root)`);
  return new NativeEngine({ home: choice.home });
}
