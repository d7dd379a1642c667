/**
 * `docker commit --change`: Dockerfile metadata instructions applied to the
 * committed container's config, as dockerd's BuildFromConfig does. The
 * changes are parsed with the Dockerfile parser and applied with the same
 * metadata rules as a build (metadata-rules.ts); instructions that would need a build step (RUN,
 * COPY, FROM...) are refused with dockerd's message. Pure: the api layer
 * calls it and hands the result to the engine's commit.
 */
import { posix } from 'node:path';
import { invalidParameter } from '../errors.js';
import { DEFAULT_SHELL, type RunConfig } from './config-rules.js';
import { applyMetadata } from './metadata-rules.js';
import { parseDockerfile } from './dockerfile-parser.js';
import { envLookup, expandWord } from './shell-words.js';

/** dockerd's validCommitCommands. */
const ALLOWED = ['cmd', 'entrypoint', 'env', 'expose', 'healthcheck', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir'];

/** The config after `changes` (one instruction each, in order); throws a 400 on a bad or refused one. */
export function applyCommitChanges(config: RunConfig, changes: string[]): RunConfig {
  if (changes.length === 0) return config;
  const { instructions, escape } = parseDockerfile(changes.join('\n'));
  for (const ins of instructions) {
    if (!ALLOWED.includes(ins.cmd)) throw invalidParameter(`${ins.cmd} is not a valid change command`);
  }
  let rc: RunConfig = { ...config };
  let cmdSet = false;
  for (const ins of instructions) {
    const x = (w: string) => expandWord(w, envLookup(rc.Env ?? []), escape);
    if (ins.cmd === 'workdir') {
      rc.WorkingDir = posix.resolve(rc.WorkingDir || '/', x(ins.args[0]!));
      continue;
    }
    ({ config: rc, cmdSet } = applyMetadata(rc, ins, {
      expand: x,
      expandEnv: (w, env) => expandWord(w, envLookup(env), escape),
      shell: rc.Shell?.length ? rc.Shell : DEFAULT_SHELL,
      cmdSet,
    }));
  }
  return rc;
}
