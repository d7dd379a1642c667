/**
 * The pure half of the port forwarder: which host listeners the engine's
 * published ports call for, and what to add and remove to get there.
 */
import type { Port, PortBinding } from '@berth/api';

export type Proto = 'tcp' | 'udp';

/** One host listener: `hostIp:hostPort/proto`, relayed to the guest's published port. */
export interface HostBinding {
  proto: Proto;
  /** As the engine reports it ("0.0.0.0", "127.0.0.1", "::"). */
  hostIp: string;
  hostPort: number;
  containerId: string;
}

export function bindingKey(b: Pick<HostBinding, 'proto' | 'hostIp' | 'hostPort'>): string {
  return `${b.proto}/${b.hostIp}/${b.hostPort}`;
}

/**
 * The bindings for running containers. Unpublished ports (no PublicPort) are
 * skipped; `::` beside `0.0.0.0` for the same port is one dual-stack
 * publication, and the host listener for `0.0.0.0` serves it.
 */
export function desiredBindings(containers: { Id: string; Ports?: Port[] }[]): HostBinding[] {
  const out = new Map<string, HostBinding>();
  for (const c of containers) {
    for (const p of c.Ports ?? []) {
      if (!p.PublicPort || (p.Type !== 'tcp' && p.Type !== 'udp')) continue;
      const b: HostBinding = { proto: p.Type, hostIp: p.IP || '0.0.0.0', hostPort: p.PublicPort, containerId: c.Id };
      out.set(bindingKey(b), b);
    }
  }
  for (const [key, b] of out) {
    if (b.hostIp === '::' && out.has(bindingKey({ ...b, hostIp: '0.0.0.0' }))) out.delete(key);
  }
  return [...out.values()];
}

/** `HostConfig.PortBindings` of a container about to start: the fixed host ports it asks for (random ones are skipped). */
export function requestedBindings(containerId: string, portBindings: Record<string, Partial<PortBinding>[] | null> | null | undefined): HostBinding[] {
  const out: HostBinding[] = [];
  for (const [spec, list] of Object.entries(portBindings ?? {})) {
    const proto = spec.endsWith('/udp') ? 'udp' : spec.endsWith('/sctp') ? undefined : 'tcp';
    if (!proto) continue;
    for (const b of list ?? []) {
      if (!b.HostPort || !/^\d+$/.test(b.HostPort)) continue; // random or a range: the engine picks
      const hostPort = Number(b.HostPort);
      if (hostPort < 1 || hostPort > 65535) continue;
      out.push({ proto, hostIp: b.HostIp || '0.0.0.0', hostPort, containerId });
    }
  }
  return out;
}

export interface ListenerPlan {
  add: HostBinding[];
  /** Keys of listeners to close. */
  remove: string[];
}

/**
 * What to change so the listeners match `desired`. A listener whose binding
 * moved to another container (same address, a new container) is replaced;
 * `keep` protects keys that are reserved for a start in progress.
 */
export function planListeners(current: ReadonlyMap<string, HostBinding>, desired: readonly HostBinding[], keep: ReadonlySet<string> = new Set()): ListenerPlan {
  const want = new Map(desired.map((b) => [bindingKey(b), b]));
  const remove: string[] = [];
  const add: HostBinding[] = [];
  for (const [key, b] of current) {
    const w = want.get(key);
    if (w ? w.containerId !== b.containerId : !keep.has(key)) remove.push(key);
  }
  for (const [key, b] of want) {
    const c = current.get(key);
    if (!c || c.containerId !== b.containerId) add.push(b);
  }
  return { add, remove };
}

/** `POST /containers/{id}/start` (with or without a /vN.NN prefix): the id, else undefined. */
export function startedContainer(method: string, path: string): string | undefined {
  if (method !== 'POST') return undefined;
  const m = /^(?:\/v\d+(?:\.\d+)?)?\/containers\/([^/?#]+)\/start(?:[?#]|$)/.exec(path);
  return m ? decodeURIComponent(m[1]!) : undefined;
}
