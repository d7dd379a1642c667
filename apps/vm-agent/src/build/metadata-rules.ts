/**
 * What a Dockerfile metadata instruction (ENV, LABEL, CMD, ENTRYPOINT,
 * EXPOSE, VOLUME, USER, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD) does to an
 * image config. One implementation for the builder's steps and for
 * `docker commit --change`, which applies the same instructions.
 */
import { invalidParameter } from '../errors.js';
import { exposedPorts, goQuoteList, healthcheck, setEnv, type RunConfig } from './config-rules.js';
import type { Instruction } from './dockerfile-parser.js';

export interface MetadataContext {
  /** Expands a word with the variables the step sees. */
  expand(word: string): string;
  /** Expands an ENV value; `env` holds the pairs set before it on the same line. */
  expandEnv(word: string, env: string[]): string;
  /** The shell of shell-form CMD and ENTRYPOINT. */
  shell: string[];
  /** Whether a CMD was set earlier: an ENTRYPOINT then keeps it. */
  cmdSet: boolean;
}

export interface MetadataResult {
  config: RunConfig;
  /** The instruction as history records it (`ENV A=1`, `CMD ["sh"]`). */
  comment: string;
  cmdSet: boolean;
}

/** Applies one metadata instruction to a copy of `config`; unknown instructions are refused. */
export function applyMetadata(config: RunConfig, ins: Instruction, ctx: MetadataContext): MetadataResult {
  const rc: RunConfig = { ...config };
  const x = ctx.expand;
  let cmdSet = ctx.cmdSet;
  let comment: string;
  switch (ins.cmd) {
    case 'env': {
      let env = rc.Env ?? [];
      const parts: string[] = [];
      for (let i = 0; i < ins.args.length; i += 2) {
        // Each pair sees the ones before it on the same line, as in dockerd.
        const key = x(ins.args[i]!);
        const value = ctx.expandEnv(ins.args[i + 1]!, env);
        env = setEnv(env, key, value);
        parts.push(`${key}=${value}`);
      }
      rc.Env = env;
      comment = `ENV ${parts.join(' ')}`;
      break;
    }
    case 'label': {
      const labels = { ...(rc.Labels ?? {}) };
      const parts: string[] = [];
      for (let i = 0; i < ins.args.length; i += 2) {
        const k = x(ins.args[i]!);
        const v = x(ins.args[i + 1]!);
        labels[k] = v;
        parts.push(`${k}=${v}`);
      }
      rc.Labels = labels;
      comment = `LABEL ${parts.join(' ')}`;
      break;
    }
    case 'cmd':
      rc.Cmd = ins.json ? ins.args : ins.args.length ? [...ctx.shell, ins.args[0]!] : null;
      cmdSet = true;
      comment = `CMD ${goQuoteList(rc.Cmd ?? [])}`;
      break;
    case 'entrypoint':
      rc.Entrypoint = ins.json ? ins.args : ins.args.length ? [...ctx.shell, ins.args[0]!] : null;
      if (!cmdSet) rc.Cmd = null; // an ENTRYPOINT drops the base image's CMD
      comment = `ENTRYPOINT ${goQuoteList(rc.Entrypoint ?? [])}`;
      break;
    case 'expose': {
      const ports = exposedPorts(ins.args.map(x));
      rc.ExposedPorts = { ...(rc.ExposedPorts ?? {}) };
      for (const p of ports) rc.ExposedPorts[p] = {};
      comment = `EXPOSE ${ports.join(' ')}`;
      break;
    }
    case 'volume': {
      const vols = ins.args.map(x).map((v) => v.trim()).filter((v) => v !== '');
      if (vols.length === 0) throw invalidParameter('VOLUME specified can not be an empty string');
      rc.Volumes = { ...(rc.Volumes ?? {}) };
      for (const v of vols) rc.Volumes[v] = {};
      comment = `VOLUME [${vols.join(' ')}]`;
      break;
    }
    case 'user':
      rc.User = x(ins.args[0]!);
      comment = `USER ${rc.User}`;
      break;
    case 'stopsignal': {
      const sig = x(ins.args[0]!);
      if (!/^(SIG[A-Z0-9+-]+|\d+)$/i.test(sig)) throw invalidParameter(`Invalid signal: ${sig}`);
      rc.StopSignal = sig;
      comment = `STOPSIGNAL ${sig}`;
      break;
    }
    case 'healthcheck':
      rc.Healthcheck = healthcheck(ins.args, ins.json, ins.flags);
      comment = `HEALTHCHECK ${rc.Healthcheck.Test.join(' ')}`;
      break;
    case 'shell':
      rc.Shell = ins.args;
      comment = `SHELL [${ins.args.join(' ')}]`;
      break;
    case 'onbuild':
      rc.OnBuild = [...(rc.OnBuild ?? []), ins.args[0]!];
      comment = `ONBUILD ${ins.args[0]}`;
      break;
    default:
      throw invalidParameter(`unknown instruction: ${ins.cmd.toUpperCase()}`);
  }
  return { config: rc, comment, cmdSet };
}
