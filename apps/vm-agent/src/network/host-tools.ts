/**
 * The kernel's network configuration through iproute2's `ip` and
 * `iptables`, both in the VM image and on any Linux host, for what is not
 * per container (bridges, routes, firewall rules). Each run is a process (a
 * few ms, more under load), so a container's veth is plugged and unplugged
 * by rtnetlink from the addon instead (links.ts).
 *
 * Every failure names the command and carries the tool's own message.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { systemError, unavailable } from '../errors.js';
import { parseSubnet, type Subnet } from './cidr.js';

export interface ToolResult {
  stdout: string;
  stderr: string;
}

export class ToolError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** Runs `file args...`, feeding `input`; rejects with a ToolError naming the command. */
export function runTool(file: string, args: string[], input?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const code = (err as { code?: unknown }).code;
      if (code === 'ENOENT') {
        return reject(unavailable(`${file} is not installed: the agent needs iproute2 and iptables to connect containers`));
      }
      const why = stderr.trim() || err.message;
      reject(
        new ToolError(
          `${file} ${args.join(' ')}${input ? ` <<< ${input.trim().replace(/\n/g, '; ')}` : ''}: ${why}`,
          stderr,
          typeof code === 'number' ? code : null,
        ),
      );
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** `ip ARGS`, in the host's network namespace or in the named one (`ip -n NAME`). */
export function ip(args: string[], netns?: string): Promise<ToolResult> {
  return runTool('ip', netns ? ['-n', netns, ...args] : args);
}

/** Several `ip` commands in one run (`ip -batch -`); stops at the first failure. */
export function ipBatch(lines: string[], netns?: string): Promise<ToolResult> {
  return runTool('ip', [...(netns ? ['-n', netns] : []), '-batch', '-'], lines.join('\n') + '\n');
}

/** True when the interface exists in the host's namespace. */
export async function linkExists(name: string): Promise<boolean> {
  try {
    await ip(['link', 'show', 'dev', name]);
    return true;
  } catch (err) {
    if (err instanceof ToolError) return false;
    throw err;
  }
}

/** Deletes an interface; gone already is fine. */
export async function deleteLink(name: string): Promise<void> {
  try {
    await ip(['link', 'del', 'dev', name]);
  } catch (err) {
    if (!(err instanceof ToolError && /Cannot find device|does not exist/i.test(err.stderr))) throw err;
  }
}

/** The IPv4 subnets the host already routes (its own networks), which new pools must avoid. */
export async function hostRoutedSubnets(exceptDevices: Set<string> = new Set()): Promise<Subnet[]> {
  const { stdout } = await ip(['-j', '-4', 'route', 'show', 'table', 'all']);
  const out: Subnet[] = [];
  for (const r of JSON.parse(stdout || '[]') as { dst?: string; dev?: string; type?: string }[]) {
    if (!r.dst || r.dst === 'default' || (r.dev && exceptDevices.has(r.dev))) continue;
    if (r.type && r.type !== 'unicast') continue;
    try {
      out.push(parseSubnet(r.dst.includes('/') ? r.dst : `${r.dst}/32`));
    } catch {
      // not an IPv4 destination
    }
  }
  return out;
}

/** Turns on IPv4 forwarding so containers' traffic is routed out (NAT does the rest). */
export async function enableIpForward(): Promise<void> {
  const file = '/proc/sys/net/ipv4/ip_forward';
  if ((await readFile(file, 'utf8')).trim() === '1') return;
  try {
    await writeFile(file, '1\n');
  } catch (err) {
    throw systemError(`enabling IPv4 forwarding (${file}): ${(err as Error).message}; containers will not reach the outside`, err);
  }
}
