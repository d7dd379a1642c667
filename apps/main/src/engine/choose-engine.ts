/**
 * Picks the engine target from the command line. Until the VM engine lands:
 * an explicit socket, else the native agent where it can run (Linux, root),
 * else a target that explains why there is no engine.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { NoEngine, type EngineTarget } from './engine-target.js';
import { NativeEngine, nativeEngineRefusal } from './native-engine.js';
import { SocketEngine } from './socket-engine.js';

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
  if (choice.engine !== undefined && choice.engine !== 'native') {
    throw new Error(`unknown engine "${choice.engine}": the only engine available yet is "native" (Linux, root)`);
  }
  const refusal = nativeEngineRefusal();
  if (refusal && choice.engine === undefined) {
    return new NoEngine(`No engine is available: the VM engine is not built yet. ${refusal} Or pass --engine-socket PATH to use a running engine.`);
  }
  return new NativeEngine({ home: choice.home });
}
