/**
 * berth-agent's entry (dist/main.cjs): runs the agent's bundle (agent.cjs,
 * beside it) as CommonJS does, but compiles it through vm.Script so V8 can
 * take its code cache (agent.cjs.cache) instead of parsing and compiling ~2 MB
 * of JavaScript: under the VM's emulated CPU that compile is seconds of the
 * boot. node 20 has no compile cache of its own for this.
 *
 * The cache is V8's, valid only for the very node binary (and V8 flags) that
 * made it, so the guest image's build makes it with the guest's node
 * (resources/vm/lib/code-cache.mjs). Without one (a checkout, the native
 * engine) the bundle compiles from source; one that V8 rejects is said once on
 * the log, and the agent starts all the same, just slower.
 *
 * BERTH_AGENT_CODE_CACHE_OUT=FILE makes the cache: the bundle runs (every
 * module's top level, then main() up to its first wait), the cache is written
 * to FILE and the process exits. A fixed point, so a build makes the same
 * bytes each time (later ones depend on what the start-up's concurrent work
 * reached first); on the host, a cache made after the first answer started
 * the agent no faster. V8 keeps the script's name in the cache and stack
 * traces show that one, so BERTH_AGENT_CODE_CACHE_NAME names the bundle as it
 * will be where the cache is used (in the guest, /opt/berth/agent.cjs).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

const bundle = join(__dirname, 'agent.cjs');
const cacheFile = `${bundle}.cache`;
const cacheOut = process.env.BERTH_AGENT_CODE_CACHE_OUT;
const scriptName = (cacheOut && process.env.BERTH_AGENT_CODE_CACHE_NAME) || bundle;
// not for the agent's children
delete process.env.BERTH_AGENT_CODE_CACHE_OUT;
delete process.env.BERTH_AGENT_CODE_CACHE_NAME;

const cachedData = !cacheOut && existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: scriptName, cachedData });
if (cachedData && script.cachedDataRejected) {
  console.error(`berth-agent: the code cache ${cacheFile} does not fit this node (${process.version}); compiling the agent from source`);
}

const wrapper = script.runInThisContext() as (exports: object, req: NodeJS.Require, mod: Module, filename: string, dirname: string) => void;
const agentModule = new Module(bundle);
agentModule.filename = bundle;
// The require a CommonJS module gets: the bundle asks it for node's built-ins
// only (runtime/native.ts loads the addon with its own).
const agentRequire = Module.createRequire(bundle);
wrapper.call(agentModule.exports, agentModule.exports, agentRequire, agentModule, bundle, __dirname);
if (cacheOut) {
  writeFileSync(cacheOut, script.createCachedData());
  process.exit(0);
}
