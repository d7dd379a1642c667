// The agent's V8 code cache (opt/berth/agent.cjs.cache), which its loader
// (apps/vm-agent/src/loader.ts) hands V8 so the guest does not compile the
// ~2 MB bundle from source at each boot: seconds under emulation.
//
// V8 takes a cache only from the same V8 build with the same flags, so it is
// made here with the guest's own node binary (a foreign one under QEMU's
// user-mode emulator, its libraries from the staged root), running the
// bundle's top level and the start of the agent's main() (`--version`).
// --random-seed (which V8 leaves out of the flags a cache must match)
// fixes the string hashes the cache holds: the same inputs give the same bytes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * @param {object} o
 * @param {string} o.node the guest's node binary
 * @param {string|null} o.emulator QEMU's user-mode emulator for a foreign node, or null
 * @param {string} o.sysroot the staged root: a foreign node's libraries
 * @param {string} o.agentDir the staged agent (main.cjs with agent.cjs beside it)
 * @param {string} o.guestBundle where agent.cjs is in the guest (the name V8 keeps)
 * @returns {Buffer}
 */
export function makeCodeCache({ node, emulator, sysroot, agentDir, guestBundle }) {
  const run = mkdtempSync(join(tmpdir(), 'berth-code-cache-'));
  try {
    const out = join(run, 'agent.cjs.cache');
    const agent = ['--random-seed=1', join(agentDir, 'main.cjs'), '--version'];
    const [cmd, args] = emulator ? [emulator, ['-L', sysroot, node, ...agent]] : [node, agent];
    execFileSync(cmd, args, {
      // nothing of this build's environment (NODE_OPTIONS would change V8's flags)
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BERTH_AGENT_CODE_CACHE_OUT: out, BERTH_AGENT_CODE_CACHE_NAME: guestBundle },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    });
    return readFileSync(out);
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
}
