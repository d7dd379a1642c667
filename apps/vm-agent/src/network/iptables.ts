/**
 * The packet filter rules behind bridge networks, as dockerd lays them out:
 * outbound NAT (masquerade) per subnet, forwarding accepted to and from each
 * bridge, and no traffic between two networks' bridges.
 *
 * Rules live in this agent's own chains (suffixed with its tag, so two
 * agents on one host, or a dockerd, never touch each other's), jumped to
 * from FORWARD. Adding is idempotent (checked with -C first), removing
 * tolerates rules already gone: a crash between steps is repaired by the
 * next run.
 *
 * Chains (filter table):
 *   FORWARD      -> BERTH-FWD-tag (first rule)
 *   BERTH-FWD    -> BERTH-ISO1-tag, then per bridge: replies in, anything out
 *   BERTH-ISO1   per bridge: leaving it for another interface -> BERTH-ISO2
 *   BERTH-ISO2   per bridge: entering it -> DROP
 */
import { unavailable } from '../errors.js';
import { runTool, ToolError } from './host-tools.js';

/** The iptables binary that works on this kernel: the default, or the other backend. */
let detected: Promise<string> | undefined;

export function detectIptables(): Promise<string> {
  detected ??= (async () => {
    const errors: string[] = [];
    for (const bin of ['iptables', 'iptables-nft', 'iptables-legacy']) {
      try {
        await runTool(bin, ['-w', '-t', 'nat', '-S', 'POSTROUTING']);
        return bin;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    throw unavailable(`no working iptables (tried iptables, iptables-nft, iptables-legacy): ${errors.join('; ')}`);
  })();
  return detected;
}

export async function iptables(args: string[]): Promise<void> {
  await runTool(await detectIptables(), ['-w', ...args]);
}

/** True when the rule or chain is there (`-C`, `-S chain` exit codes). */
export async function check(args: string[]): Promise<boolean> {
  try {
    await iptables(args);
    return true;
  } catch (err) {
    if (err instanceof ToolError) return false;
    throw err;
  }
}

export async function ensureRule(table: string, chain: string, rule: string[], position?: number): Promise<void> {
  if (await check(['-t', table, '-C', chain, ...rule])) return;
  await iptables(['-t', table, position ? '-I' : '-A', chain, ...(position ? [String(position)] : []), ...rule]);
}

export async function deleteRule(table: string, chain: string, rule: string[]): Promise<void> {
  while (await check(['-t', table, '-C', chain, ...rule])) await iptables(['-t', table, '-D', chain, ...rule]);
}

export async function ensureChain(table: string, chain: string): Promise<void> {
  if (!(await check(['-t', table, '-S', chain]))) await iptables(['-t', table, '-N', chain]);
}

export class BridgeFirewall {
  readonly fwd: string;
  readonly iso1: string;
  readonly iso2: string;

  /** `tag`: up to 8 characters naming this agent's chains. */
  constructor(tag: string) {
    this.fwd = `BERTH-FWD-${tag}`;
    this.iso1 = `BERTH-ISO1-${tag}`;
    this.iso2 = `BERTH-ISO2-${tag}`;
  }

  /** Rules for one bridge network: NAT out (unless internal), forwarding, isolation. */
  async addNetwork(bridge: string, subnet: string, opts: { masquerade: boolean }): Promise<void> {
    await this.ensureChains();
    if (opts.masquerade) await ensureRule('nat', 'POSTROUTING', ['-s', subnet, '!', '-o', bridge, '-j', 'MASQUERADE']);
    await ensureRule('filter', this.iso1, ['-i', bridge, '!', '-o', bridge, '-j', this.iso2]);
    await ensureRule('filter', this.iso2, ['-o', bridge, '-j', 'DROP']);
    await ensureRule('filter', this.fwd, ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT']);
    await ensureRule('filter', this.fwd, ['-i', bridge, '-j', 'ACCEPT']);
  }

  /**
   * One iptables run: is our jump from FORWARD still there? A firewall
   * reload or flush (`iptables -F`, firewalld, ufw) removes it with the rest.
   */
  hooked(): Promise<boolean> {
    return check(['-t', 'filter', '-C', 'FORWARD', '-j', this.fwd]);
  }

  /** Undoes addNetwork; when no network is left, removes the chains too. */
  async removeNetwork(bridge: string, subnet: string): Promise<void> {
    await deleteRule('nat', 'POSTROUTING', ['-s', subnet, '!', '-o', bridge, '-j', 'MASQUERADE']);
    if (!(await check(['-t', 'filter', '-S', this.fwd]))) return;
    await deleteRule('filter', this.iso1, ['-i', bridge, '!', '-o', bridge, '-j', this.iso2]);
    await deleteRule('filter', this.iso2, ['-o', bridge, '-j', 'DROP']);
    await deleteRule('filter', this.fwd, ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT']);
    await deleteRule('filter', this.fwd, ['-i', bridge, '-j', 'ACCEPT']);
    const { stdout } = await runTool(await detectIptables(), ['-w', '-t', 'filter', '-S', this.iso2]);
    if (stdout.split('\n').filter((l) => l.startsWith('-A ')).length === 0) await this.removeChains();
  }

  private async ensureChains(): Promise<void> {
    await ensureChain('filter', this.iso2);
    await ensureChain('filter', this.iso1);
    await ensureChain('filter', this.fwd);
    await ensureRule('filter', this.fwd, ['-j', this.iso1], 1);
    await ensureRule('filter', 'FORWARD', ['-j', this.fwd], 1);
  }

  private async removeChains(): Promise<void> {
    await deleteRule('filter', 'FORWARD', ['-j', this.fwd]);
    for (const chain of [this.fwd, this.iso1, this.iso2]) {
      if (!(await check(['-t', 'filter', '-S', chain]))) continue;
      await iptables(['-t', 'filter', '-F', chain]);
    }
    for (const chain of [this.fwd, this.iso1, this.iso2]) {
      if (await check(['-t', 'filter', '-S', chain])) await iptables(['-t', 'filter', '-X', chain]);
    }
  }
}
