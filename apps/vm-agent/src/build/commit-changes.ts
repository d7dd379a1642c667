/**
 * `docker commit --change`: Dockerfile metadata instructions applied to the
 * committed container's config, as dockerd's BuildFromConfig does. The
 * changes are parsed with the Dockerfile parser and applied with the same
 * config rules as a build; instructions that would need a build step (RUN,
 * COPY, FROM...) are refused with dockerd's message. Pure: the api layer
 * calls it and hands the result to the engine's commit.
 */
import { posix } from 'node:path';
import { invalidParameter } from '../errors.js';
import { DEFAULT_SHELL, exposedPorts, healthcheck, setEnv, type RunConfig } from './config-rules.js';
import { parseDockerfile } from './dockerfile-parser.js';
import { envLookup, expandWord, type Lookup } from './shell-words.js';

/** dockerd's validCommitCommands. */
const ALLOWED = ['cmd', 'entrypoint', 'env', 'expose', 'healthcheck', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir'];

/** The config after `changes` (one instruction each, in order); throws a 400 on a bad or refused one. */
export function applyCommitChanges(config: RunConfig, changes: string[]): RunConfig {
  if (changes.length === 0) return config;
  const { instructions, escape } = parseDockerfile(changes.join('\n'));
  for (const ins of instructions) {
    if (!ALLOWED.includes(ins.cmd)) throw invalidParameter(`${ins.cmd} is not a valid change command`);
  }
  const rc: RunConfig = { ...config };
  const lookup: Lookup = (name) => envLookup(rc.Env ?? [])(name);
  const x = (w: string) => expandWord(w, lookup, escape);
  const shellForm = (args: string[], json: boolean) => (json ? args : args.length ? [...(rc.Shell?.length ? rc.Shell : DEFAULT_SHELL), args[0]!] : null);
  let cmdSet = false;
  for (const ins of instructions) {
    const pairs = () => Array.from({ length: ins.args.length / 2 }, (_, i) => [x(ins.args[2 * i]!), x(ins.args[2 * i + 1]!)] as const);
    switch (ins.cmd) {
      case 'cmd':
        rc.Cmd = shellForm(ins.args, ins.json);
        cmdSet = true;
        break;
      case 'entrypoint':
        rc.Entrypoint = shellForm(ins.args, ins.json);
        if (!cmdSet) rc.Cmd = null; // as in a build: a new ENTRYPOINT drops the old CMD
        break;
      case 'env':
        // Each pair sees the ones before it (lookup reads rc.Env afresh).
        for (let i = 0; i < ins.args.length; i += 2) rc.Env = setEnv(rc.Env ?? [], x(ins.args[i]!), x(ins.args[i + 1]!));
        break;
      case 'label':
        rc.Labels = { ...(rc.Labels ?? {}), ...Object.fromEntries(pairs()) };
        break;
      case 'expose':
        rc.ExposedPorts = { ...(rc.ExposedPorts ?? {}), ...Object.fromEntries(exposedPorts(ins.args.map(x)).map((p) => [p, {}])) };
        break;
      case 'volume': {
        const vols = ins.args.map(x).map((v) => v.trim()).filter((v) => v !== '');
        if (vols.length === 0) throw invalidParameter('VOLUME specified can not be an empty string');
        rc.Volumes = { ...(rc.Volumes ?? {}), ...Object.fromEntries(vols.map((v) => [v, {}])) };
        break;
      }
      case 'user':
        rc.User = x(ins.args[0]!);
        break;
      case 'workdir':
        rc.WorkingDir = posix.resolve(rc.WorkingDir || '/', x(ins.args[0]!));
        break;
      case 'stopsignal': {
        const sig = x(ins.args[0]!);
        if (!/^(SIG[A-Z0-9+-]+|\d+)$/i.test(sig)) throw invalidParameter(`Invalid signal: ${sig}`);
        rc.StopSignal = sig;
        break;
      }
      case 'healthcheck':
        rc.Healthcheck = healthcheck(ins.args, ins.json, ins.flags, DEFAULT_SHELL);
        break;
      case 'onbuild':
        rc.OnBuild = [...(rc.OnBuild ?? []), ins.args[0]!];
        break;
    }
  }
  return rc;
}
