/**
 * The environment of a container's processes, as dockerd builds it
 * (CreateDaemonEnvironment) and runc completes it: PATH, HOSTNAME, TERM=xterm
 * with a terminal, the legacy link variables of each `--link`, then the
 * container's own Config.Env replacing or adding (an image's or -e's PATH
 * wins), and HOME from the user's /etc/passwd entry when none is set. exec
 * builds it the same way with its own terminal flag, then its -e on top.
 */
import type { ContainerRecord } from './container-types.js';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const keyOf = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);

/** dockerd's ReplaceOrAppendEnvValues: a key already in `base` is replaced where it stands, others appended. */
export function replaceOrAppendEnv(base: readonly string[], over: readonly string[]): string[] {
  const out = [...base];
  for (const e of over) {
    const i = out.findIndex((b) => keyOf(b) === keyOf(e));
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

/** A linked container, as the environment names it. */
export interface LinkedContainer {
  alias: string;
  address: string;
  record: Pick<ContainerRecord, 'Config'>;
}

/**
 * Docker's legacy link variables for `--link NAME:ALIAS` (documented with
 * container links): ALIAS_NAME, ALIAS_PORT (the lowest exposed port),
 * ALIAS_PORT_<port>_<PROTO> with _ADDR, _PORT and _PROTO, and ALIAS_ENV_<var>
 * for the linked container's environment (but HOME and PATH).
 */
export function linkEnv(containerName: string, link: LinkedContainer): string[] {
  const prefix = link.alias.toUpperCase().replace(/-/g, '_');
  const ports = Object.keys(link.record.Config.ExposedPorts ?? {})
    .map((p) => {
      const [port = '', proto = 'tcp'] = p.split('/');
      return { port: Number(port), proto };
    })
    .filter((p) => Number.isInteger(p.port) && p.port > 0)
    .sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
  const env: string[] = [];
  if (ports[0]) env.push(`${prefix}_PORT=${ports[0].proto}://${link.address}:${ports[0].port}`);
  for (const { port, proto } of ports) {
    const key = `${prefix}_PORT_${port}_${proto.toUpperCase()}`;
    env.push(`${key}=${proto}://${link.address}:${port}`, `${key}_ADDR=${link.address}`, `${key}_PORT=${port}`, `${key}_PROTO=${proto}`);
  }
  env.push(`${prefix}_NAME=/${containerName.replace(/^\//, '')}/${link.alias}`);
  for (const e of link.record.Config.Env ?? []) {
    if (!e.includes('=')) continue;
    const key = keyOf(e);
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${prefix}_ENV_${e}`);
  }
  return env;
}

/** The environment before HOME: dockerd's defaults, the links', then `own` (Config.Env, and for exec its -e) on top. */
export function processEnv(
  rec: Pick<ContainerRecord, 'Name' | 'Config'>,
  opts: { tty: boolean; links: readonly LinkedContainer[]; own: readonly string[][] },
): string[] {
  let env = [DEFAULT_PATH, `HOSTNAME=${rec.Config.Hostname}`, ...(opts.tty ? ['TERM=xterm'] : []), ...opts.links.flatMap((l) => linkEnv(rec.Name, l))];
  for (const layer of opts.own) env = replaceOrAppendEnv(env, layer);
  return env;
}

/** runc's HOME: kept when set, else the user's home directory (resolved lazily, it reads /etc/passwd). */
export async function withHome(env: string[], home: () => Promise<string>): Promise<string[]> {
  return env.some((e) => keyOf(e) === 'HOME') ? env : [...env, `HOME=${await home()}`];
}
