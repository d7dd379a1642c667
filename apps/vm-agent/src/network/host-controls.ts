/**
 * The host's own controls, out of reach from inside the VM.
 *
 * Under QEMU user networking the guest's 10.0.2.2:P is the host's
 * 127.0.0.1:P. That is how `host.docker.internal` reaches the user's own
 * services on the host's loopback (as on Docker Desktop), and it must stay.
 * But Berth's own listeners are there too: the host end of the SSH forward
 * (127.0.0.1:sshPort, which leads back into the guest's SSH server), QMP when
 * it is a TCP port (Windows), and each `berth web` dashboard.
 *
 * Why the guest's packet filter: every packet a container sends passes the
 * guest's kernel (FORWARD for bridged containers, OUTPUT for host-network
 * ones), so one chain there stops all of them. QEMU offers no per-port
 * filter: `restrict=on` cuts the guest off from everything (pulls, the
 * internet), and moving the host's listeners off 127.0.0.1 is not portable
 * (macOS and Windows have no 127.0.0.2 by default). The agent's own dials to
 * registries on the host's loopback pass: they never go to these ports.
 *
 * Chain (filter table): FORWARD and OUTPUT -> BERTH-CTL-tag (first rule), one
 * rule per port: tcp to the gateway on that port -> REJECT with a TCP reset
 * (the dialer sees "connection refused" at once, not a timeout). The ports
 * given at start (the VM's, from the kernel command line) stay for the
 * agent's life; the dashboards add and remove theirs through the API. The
 * chain outlives an agent restart (rules are in the kernel), so a dashboard
 * registered before it stays guarded.
 */
import { forbidden, invalidParameter } from '../errors.js';
import { runTool } from './host-tools.js';
import { deleteRule, detectIptables, ensureChain, ensureRule, iptables } from './iptables.js';

/** The rule that refuses TCP to `gateway`:`port`, as given to iptables (without the chain). */
export function controlRule(gateway: string, port: number): string[] {
  return ['-d', `${gateway}/32`, '-p', 'tcp', '-m', 'tcp', '--dport', String(port), '-j', 'REJECT', '--reject-with', 'tcp-reset'];
}

/** The ports refused in a chain, from `iptables -S CHAIN`. */
export function portsInListing(listing: string, chain: string): number[] {
  const ports: number[] = [];
  for (const line of listing.split('\n')) {
    if (!line.startsWith(`-A ${chain} `)) continue;
    const m = /--dport (\d+)/.exec(line);
    if (m) ports.push(Number(m[1]));
  }
  return ports.sort((a, b) => a - b);
}

/** A TCP port from a flag or a URL: a whole number 1-65535, or a 400 naming `what`. */
export function parsePort(text: string, what: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw invalidParameter(`${what} must be a TCP port (1-65535), got "${text}"`);
  return port;
}

/** `--host-controls 2222,4000`: the list, each checked. */
export function parsePortList(text: string): number[] {
  return text
    .split(',')
    .filter(Boolean)
    .map((p) => parsePort(p.trim(), '--host-controls'));
}

export class HostControls {
  readonly chain: string;
  private fixed = new Set<number>();
  private queue: Promise<unknown> = Promise.resolve();

  /** `tag`: this agent's chain suffix (as BridgeFirewall's); `gateway`: the host's loopback as the guest sees it. */
  constructor(
    tag: string,
    readonly gateway: string,
  ) {
    this.chain = `BERTH-CTL-${tag}`;
  }

  /** Makes the chain and its jumps, and refuses `ports` for good (the VM's own). */
  init(ports: number[]): Promise<void> {
    return this.serial(async () => {
      await ensureChain('filter', this.chain);
      await ensureRule('filter', 'OUTPUT', ['-j', this.chain], 1);
      await this.jumpFirstNow();
      for (const port of ports) await ensureRule('filter', this.chain, controlRule(this.gateway, port));
      this.fixed = new Set(ports);
    });
  }

  /** Refuses `port` from inside the VM (idempotent). */
  add(port: number): Promise<void> {
    return this.serial(() => ensureRule('filter', this.chain, controlRule(this.gateway, port)));
  }

  /** Lets `port` through again; the VM's own ports cannot be removed. */
  remove(port: number): Promise<void> {
    if (this.fixed.has(port)) return Promise.reject(forbidden(`port ${port} is the VM's own control (its SSH forward); it stays refused`));
    return this.serial(() => deleteRule('filter', this.chain, controlRule(this.gateway, port)));
  }

  /** The ports refused now. */
  ports(): Promise<number[]> {
    return this.serial(async () => portsInListing((await runTool(await detectIptables(), ['-w', '-t', 'filter', '-S', this.chain])).stdout, this.chain));
  }

  /**
   * Puts the FORWARD jump back in first place. BridgeFirewall inserts its own
   * jump at the top when a network comes up, and that chain accepts whatever
   * leaves a bridge: ours must be looked at before it.
   */
  jumpFirst(): Promise<void> {
    return this.serial(() => this.jumpFirstNow());
  }

  private async jumpFirstNow(): Promise<void> {
    const { stdout } = await runTool(await detectIptables(), ['-w', '-t', 'filter', '-S', 'FORWARD']);
    const first = stdout.split('\n').find((l) => l.startsWith('-A FORWARD '));
    if (first === `-A FORWARD -j ${this.chain}`) return;
    await deleteRule('filter', 'FORWARD', ['-j', this.chain]);
    await iptables(['-t', 'filter', '-I', 'FORWARD', '1', '-j', this.chain]);
  }

  /** One change at a time: each is a check then an insert. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }
}
