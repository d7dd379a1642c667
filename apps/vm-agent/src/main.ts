/**
 * berth-agent: the engine. The composition root: parses flags, opens the
 * stores, binds the services to the Docker API and serves it until SIGTERM.
 *
 *   berth-agent --host unix:///run/berth/engine.sock --data-root /var/lib/berth
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { buildRouter } from './api/api.js';
import { Builder } from './build/builder.js';
import { createApiServer, listenUnix } from './api/server.js';
import { serveUpgrades } from './api/routes/container-streams.js';
import { ENGINE_VERSION } from './api/version.js';
import { ContainerNetwork } from './engine/container-network.js';
import { ContainerService } from './engine/containers.js';
import { EventBus } from './engine/events.js';
import { ExecService } from './engine/exec-service.js';
import { HealthMonitor } from './engine/health-monitor.js';
import { errorMessage } from './errors.js';
import { ImageService } from './images/image-service.js';
import { HostControls, parsePortList } from './network/host-controls.js';
import { NetworkService } from './network/network-service.js';
import { ContainerMounts } from './engine/container-mounts.js';
import { VolumeService } from './volumes/volume-service.js';
import { readJsonIfExists, writeJsonAtomic } from './util/atomic-file.js';
import { loadOrCreateHostKey } from './ssh/host-key.js';
import { startSshServer } from './ssh/ssh-server.js';
import { startupMark, startupMarkSinceProcessStart } from './util/startup-marks.js';
import { waitForFile } from './util/wait-for-file.js';

const USAGE = `Usage: berth-agent --host unix:///PATH --data-root DIR

Serves the Docker Engine API on a Unix socket, keeping all state under DIR.
Runs as root: it creates namespaces, mounts and cgroups.

  --host unix:///PATH   the socket to serve (default unix:///run/berth/engine.sock)
  --data-root DIR       where images, containers and volumes live (default /var/lib/berth)
  --ssh-listen HOST:PORT  also serve SSH there (the host's link; needs --ssh-authorized-key)
  --ssh-authorized-key FILE  the one public key SSH accepts (authorized_keys form)
  --max-layer-bytes N   refuse an image layer larger than N bytes unpacked (default 64 GiB)
  --registry-stall-timeout S  fail a layer download that receives nothing for S seconds (default 60)
  --host-gateway ADDR   in a VM: the address reaching the host's loopback; registries on
                        localhost/127.0.0.1 are dialed there (QEMU user networking: 10.0.2.2),
                        and containers get it as host.docker.internal
  --host-controls PORTS with --host-gateway: the host's own listeners behind it (comma-separated
                        TCP ports, e.g. the SSH forward's); nothing in the VM may dial them
  --modules-ready FILE  in a VM: the file init creates once the kernel modules for networks are
                        loaded; the engine answers before, but sets networks up after it
  --init-done FILE      in a VM: the file init creates once the data disk, the network and the
                        shares are up; the agent loads its code meanwhile and starts after it
  --version             print the version and exit`;

async function main(): Promise<void> {
  startupMarkSinceProcessStart('bundle loaded');
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: 'unix:///run/berth/engine.sock' },
      'data-root': { type: 'string', default: '/var/lib/berth' },
      'ssh-listen': { type: 'string' },
      'ssh-authorized-key': { type: 'string' },
      'max-layer-bytes': { type: 'string' },
      'registry-stall-timeout': { type: 'string' },
      'host-gateway': { type: 'string' },
      'host-controls': { type: 'string' },
      'modules-ready': { type: 'string' },
      'init-done': { type: 'string' },
      version: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.version) {
    console.log(`berth-agent ${ENGINE_VERSION}`);
    return;
  }
  const host = values.host!;
  if (!host.startsWith('unix://')) throw new Error(`--host must be unix:///PATH, got ${host}`);
  const socketPath = resolve(host.slice('unix://'.length));
  const dataRoot = resolve(values['data-root']!);
  const stallSeconds = values['registry-stall-timeout'] === undefined ? undefined : Number(values['registry-stall-timeout']);
  if (stallSeconds !== undefined && !(stallSeconds > 0)) {
    throw new Error(`--registry-stall-timeout must be a positive number of seconds, got ${values['registry-stall-timeout']}`);
  }
  const maxLayerBytes = values['max-layer-bytes'] === undefined ? undefined : Number(values['max-layer-bytes']);
  if (maxLayerBytes !== undefined && !(Number.isSafeInteger(maxLayerBytes) && maxLayerBytes > 0)) {
    throw new Error(`--max-layer-bytes must be a positive number of bytes, got ${values['max-layer-bytes']}`);
  }
  const hostGateway = values['host-gateway'];
  if (hostGateway !== undefined && isIP(hostGateway) !== 4) throw new Error(`--host-gateway must be an IPv4 address, got ${hostGateway}`);
  if (values['host-controls'] !== undefined && !hostGateway) throw new Error('--host-controls needs --host-gateway (the address the ports are on)');
  const controlPorts = parsePortList(values['host-controls'] ?? '');
  const initDone = values['init-done'];
  if (initDone && !existsSync(initDone)) {
    // Init starts the agent early so node loads its code while init still
    // works; the data root and eth0's address (SSH) are there once it is done.
    console.error(`berth-agent: waiting for init to finish (${initDone})`);
    await waitForFile(initDone, Infinity);
    startupMark('init done');
  }
  await mkdir(dataRoot, { recursive: true, mode: 0o711 });

  const engineId = await loadEngineId(dataRoot);
  const events = new EventBus();
  const images = new ImageService({
    root: ImageService.rootFor(dataRoot),
    userAgent: `berth/${ENGINE_VERSION} (linux; node ${process.version})`,
    emit: (ev) => events.publish({ Type: 'image', ...ev }),
    ...(maxLayerBytes ? { maxLayerBytes } : {}),
    ...(stallSeconds ? { stallMs: stallSeconds * 1000 } : {}),
    ...(hostGateway ? { loopbackGateway: hostGateway } : {}),
  });
  const hostControls = hostGateway ? new HostControls(engineId.slice(0, 8), hostGateway) : undefined;
  const networks = new NetworkService({
    root: NetworkService.rootFor(dataRoot),
    tag: engineId.slice(0, 8),
    ...(hostGateway ? { hostGateway, hostControls } : {}),
  });
  const volumes = new VolumeService({ root: VolumeService.rootFor(dataRoot), emit: (ev) => events.publish({ Type: 'volume', ...ev }) });
  let containerDir = (id: string) => id;
  const containers = new ContainerService({
    dataRoot,
    images,
    events,
    network: new ContainerNetwork(networks, (id) => containerDir(id)),
    mounts: new ContainerMounts(volumes),
  });
  containerDir = (id) => containers.store.dir(id);
  volumes.setUsage((name) =>
    containers
      .list()
      .filter((c) => ContainerMounts.uses(c, name))
      .map((c) => c.Id),
  );
  images.setUsage((id) => containers.usage(id));
  const execs = new ExecService(containers);
  const health = new HealthMonitor(containers, execs);
  const builder = new Builder({ images, containers, root: join(dataRoot, 'build') });

  // The state is loaded (and what a crash left swept) while the engine
  // already listens: the VM's boot waits for the first answer, and every
  // request but the ping and the version waits for this.
  const ready = (async () => {
    await images.init();
    const modulesReady = values['modules-ready'];
    if (modulesReady && !(await waitForFile(modulesReady, 120_000))) {
      console.error(`berth-agent: ${modulesReady} did not appear in 120 s; setting networks up with the modules the kernel loads on demand`);
    }
    // Before any container runs: the host's own controls are out of reach from the start.
    await hostControls?.init(controlPorts);
    // Networks first: restoring containers may start some (restart policies).
    await networks.init();
    await volumes.init();
    await containers.init();
    await networks.forgetUnless((id) => containers.store.has(id));
    await builder.init();
  })();
  const router = buildRouter({ engineId, dataRoot, images, events, containers, execs, networks, volumes, builder, health, hostControls });
  router.holdUntil(ready, ['/_ping', '/version']);
  const server = createApiServer(router);
  serveUpgrades(server, router);
  await listenUnix(server, socketPath);
  startupMark('listening');
  console.error(`berth-agent ${ENGINE_VERSION}: serving the Docker API on unix://${socketPath} (data root ${dataRoot})`);
  const ssh = values['ssh-listen']
    ? await startSshServer({
        listen: values['ssh-listen'],
        authorizedKeyFile: resolve(values['ssh-authorized-key'] ?? '/run/berth/authorized_key'),
        hostKey: await loadOrCreateHostKey(join(dataRoot, 'ssh', 'ssh_host_ed25519_key')),
        engineSocket: socketPath,
      })
    : undefined;
  if (ssh) console.error(`berth-agent: serving SSH on ${ssh.address}`);
  startupMark('ssh listening');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`berth-agent: ${signal}, stopping containers and shutting down`);
    server.close();
    server.closeAllConnections();
    health.close();
    void ssh?.close();
    // Containers first (each with its stop timeout), so their cgroups, mounts and endpoints go with them;
    // a start-up still loading the state (it answers before) finishes that first.
    ready
      .catch(() => {})
      .then(() => containers.shutdown())
      .catch((err) => console.error(`berth-agent: stopping containers: ${errorMessage(err)}`))
      .then(() => networks.close())
      .catch((err) => console.error(`berth-agent: network teardown: ${errorMessage(err)}`))
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await ready;
  startupMark('ready');
}

/** A stable engine ID, made on first start (docker info shows it). */
async function loadEngineId(dataRoot: string): Promise<string> {
  const file = join(dataRoot, 'engine.json');
  const saved = await readJsonIfExists<{ id: string }>(file);
  if (saved?.id) return saved.id;
  const id = randomBytes(16).toString('hex');
  await writeJsonAtomic(file, { id });
  return id;
}

main().catch((err) => {
  console.error(`berth-agent: ${errorMessage(err)}`);
  process.exit(1);
});
