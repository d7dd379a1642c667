/**
 * RUN: a container from the current image (Entrypoint cleared, the stage's
 * ARG values as its environment, its workdir and user, the build's
 * HostConfig), its output streamed into the build, and on exit 0 its upper
 * dir packed into a layer. The container is then removed as --rm,
 * --force-rm or --rm=false say.
 */
import { StringDecoder } from 'node:string_decoder';
import { errorMessage, invalidParameter } from '../errors.js';
import { runtimeMountPoints } from '../engine/container-diff.js';
import { rootfsPaths } from '../engine/rootfs.js';
import { packLayer } from '../images/layer-pack.js';
import { short, type StageState, type StepHost } from './build-stages.js';
import type { Instruction } from './dockerfile-parser.js';

export async function runStep(host: StepHost, st: StageState, ins: Instruction): Promise<void> {
  const images = host.deps.images;
  const cmd = ins.json ? ins.args : [...host.shell(st), ins.args[0]!];
  const argEnv = host.argEnv(st);
  const createdBy = argEnv.length ? `|${argEnv.length} ${argEnv.join(' ')} ${cmd.join(' ')}` : cmd.join(' ');
  await host.cached(st, { key: ['run', createdBy], rc: host.rc(st) }, async () => {
    const parent = st.image ?? (await images.commit({ parent: undefined, config: st.config }));
    const rc = host.rc(st);
    const containers = host.deps.containers;
    const rec = await containers.create({
      Image: parent.id,
      Cmd: cmd,
      Entrypoint: [''],
      Env: argEnv,
      WorkingDir: rc.WorkingDir ?? '',
      User: rc.User ?? '',
      Labels: {},
      HostConfig: { ...host.opts.run?.hostConfig, LogConfig: { Type: 'none', Config: {} } },
    });
    host.say(` ---> Running in ${short(rec.Id)}\n`);
    try {
      const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
      containers.liveState(rec).hub.attach({ stdout: true, stderr: true }, {
        write: (stream, data) => {
          const text = decoders[stream].write(data);
          // dockerd's classic builder marks the step's stderr red in the stream, as clients expect
          if (text) host.say(stream === 'stderr' ? `\x1b[91m${text}\x1b[0m` : text);
        },
        end: () => {},
      });
      const exited = containers.nextExit(rec);
      const onAbort = () => void containers.kill(rec.Id).catch(() => {});
      host.opts.signal?.addEventListener('abort', onAbort);
      try {
        await containers.start(rec.Id);
        const { StatusCode } = await exited;
        host.checkAborted();
        if (StatusCode !== 0) throw invalidParameter(`The command '${cmd.join(' ')}' returned a non-zero code: ${StatusCode}`);
      } finally {
        host.opts.signal?.removeEventListener('abort', onAbort);
      }
      const upper = rootfsPaths(containers.store.dir(rec.Id)).upper;
      const skip = await runtimeMountPoints(upper, images.layerDirs(parent)); // /etc/hosts... are no change of the step's
      const image = await images.commit({ parent, layer: packLayer(upper, { skip }), config: host.nextConfig({ ...st, image: parent }, rc, { created_by: createdBy }) });
      await removeIntermediate(host, rec.Id, true);
      return image;
    } catch (err) {
      // --rm keeps a failed step's container for a look (dockerd's default); --force-rm removes it
      await removeIntermediate(host, rec.Id, false);
      throw err;
    }
  });
}

/** --rm (the default) removes a RUN step's container when the step succeeded, --force-rm always, --rm=false never. */
async function removeIntermediate(host: StepHost, id: string, succeeded: boolean): Promise<void> {
  const policy = host.opts.run?.remove ?? 'always';
  if (policy === 'never' || (policy === 'on-success' && !succeeded)) return;
  await host.deps.containers.remove(id, { force: true }).catch((err) => host.say(` ---> [Warning] removing intermediate container ${short(id)}: ${errorMessage(err)}\n`));
  host.say(` ---> Removed intermediate container ${short(id)}\n`);
}
