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
 * BERTH_AGENT_CODE_CACHE_OUT=FILE makes the cache: the agent starts as usual,
 * and once its socket (--host) answers /version the cache is written to FILE
 * and the process exits, so the functions the start-up and the first answer
 * compiled are in it too. V8 keeps the script's name in the cache and stack
 * traces show that one, so BERTH_AGENT_CODE_CACHE_NAME names the bundle as it
 * will be where the cache is used (in the guest, /opt/berth/agent.cjs).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
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
if (cacheOut) writeCacheOnceAnswering(cacheOut);

const wrapper = script.runInThisContext() as (exports: object, req: NodeJS.Require, mod: Module, filename: string, dirname: string) => void;
const agentModule = new Module(bundle);
agentModule.filename = bundle;
// The require a CommonJS module gets: the bundle asks it for node's built-ins
// only (runtime/native.ts loads the addon with its own).
const agentRequire = Module.createRequire(bundle);
wrapper.call(agentModule.exports, agentModule.exports, agentRequire, agentModule, bundle, __dirname);

/** Polls the agent's socket until /version answers, then writes the cache and exits. */
function writeCacheOnceAnswering(out: string): void {
  const host = process.argv[process.argv.indexOf('--host') + 1] ?? '';
  if (!host.startsWith('unix://')) throw new Error('BERTH_AGENT_CODE_CACHE_OUT needs --host unix:///PATH');
  const socketPath = host.slice('unix://'.length);
  const attempt = () => {
    const req = request({ socketPath, path: '/version' }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) return void setTimeout(attempt, 50);
        writeFileSync(out, script.createCachedData());
        process.exit(0);
      });
    });
    req.on('error', () => setTimeout(attempt, 50));
    req.end();
  };
  attempt();
}
