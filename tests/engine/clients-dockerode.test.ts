/**
 * dockerode (npm), unchanged, against the engine: pull with progress events,
 * list, create, attach and exec with demultiplexed streams, logs follow,
 * stats, events, stop and remove. Assertions are on what dockerode returns.
 */
import assert from 'node:assert/strict';
import { PassThrough, type Readable } from 'node:stream';
import { describe, test } from 'node:test';
import Docker from 'dockerode';
import { eventually } from './containers-fixture.js';
import { useClientsFixture } from './clients/clients-fixture.js';

const fx = useClientsFixture();
const client = () => new Docker({ socketPath: fx.agent.current.socket });

/** Demultiplexes a Docker stream with dockerode's own parser; the texts grow as frames arrive. */
function demux(docker: Docker, stream: NodeJS.ReadableStream): { stdout: () => string; stderr: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (b: Buffer) => (o += b.toString()));
  err.on('data', (b: Buffer) => (e += b.toString()));
  docker.modem.demuxStream(stream, out, err);
  return { stdout: () => o, stderr: () => e };
}

const ended = (s: NodeJS.ReadableStream) =>
  new Promise<void>((resolve) => {
    s.once('end', resolve);
    s.once('close', resolve);
  });

interface ProgressEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

describe('dockerode', { timeout: 60_000 }, () => {
  test('pull streams progress events that followProgress collects; the image is then listed', async () => {
    const docker = client();
    const stream = await docker.pull(fx.image);
    const seen: ProgressEvent[] = [];
    const output = await new Promise<ProgressEvent[]>((resolve, reject) =>
      docker.modem.followProgress(
        stream,
        (err: Error | null, res: ProgressEvent[]) => (err ? reject(err) : resolve(res)),
        (ev: ProgressEvent) => seen.push(ev),
      ),
    );
    assert.deepEqual(output, seen);
    assert.ok(!seen.some((e) => e.error), JSON.stringify(seen));
    assert.ok(
      seen.some((e) => e.status === 'Downloading' && e.id && (e.progressDetail?.total ?? 0) > 0),
      'per-layer byte progress',
    );
    assert.ok(seen.some((e) => e.status === 'Pull complete' && e.id));
    assert.match(seen.at(-1)!.status!, new RegExp(`^Status: Downloaded newer image for ${fx.image.replace(/[.]/g, '\\.')}$`));
    const images = await docker.listImages();
    const img = images.find((i) => i.RepoTags?.includes(fx.image));
    assert.ok(img, JSON.stringify(images));
    assert.match(img.Id, /^sha256:[0-9a-f]{64}$/);
    const inspected = await docker.getImage(fx.image).inspect();
    assert.equal(inspected.Id, img.Id);
    assert.deepEqual(inspected.Config.Cmd, ['sh']);
  });

  test('create, attach (demuxed), start, exec (demuxed), logs follow, list, inspect, stop, remove', async () => {
    const docker = client();
    const container = await docker.createContainer({
      Image: fx.image,
      name: 'dockerode-ticker',
      Cmd: ['sh', '-c', 'echo hello-out; echo hello-err >&2; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done'],
      Labels: { 'berth.test': 'dockerode' },
      Env: ['GREETING=from-env'],
    });
    assert.match(container.id, /^[0-9a-f]{64}$/);
    assert.equal((await container.inspect()).State.Status, 'created');

    const attached = await container.attach({ stream: true, stdout: true, stderr: true });
    const att = demux(docker, attached);
    await container.start();
    await eventually('attach output', async () => att.stdout().includes('tick 3'));
    assert.ok(att.stdout().startsWith('hello-out\ntick 1\n'), att.stdout());
    assert.equal(att.stderr(), 'hello-err\n');

    const listed = await docker.listContainers({ filters: { label: ['berth.test=dockerode'] } });
    assert.deepEqual(
      listed.map((c) => [c.Id, c.Names, c.State, c.Image]),
      [[container.id, ['/dockerode-ticker'], 'running', fx.image]],
    );
    const info = await container.inspect();
    assert.equal(info.State.Running, true);
    assert.ok(info.State.Pid > 0);
    assert.ok(info.Config.Env.includes('GREETING=from-env'));

    const exec = await container.exec({ Cmd: ['sh', '-c', 'echo exec-out $GREETING; echo exec-err >&2; exit 7'], AttachStdout: true, AttachStderr: true });
    const execStream = await exec.start({ hijack: true, stdin: false });
    const execEnded = ended(execStream);
    const ex = demux(docker, execStream);
    await execEnded;
    assert.equal(ex.stdout(), 'exec-out from-env\n');
    assert.equal(ex.stderr(), 'exec-err\n');
    const execInfo = await exec.inspect();
    assert.equal(execInfo.ExitCode, 7);
    assert.equal(execInfo.Running, false);

    // Logs with follow: the history first, then lines as they are written.
    const logs = await container.logs({ follow: true, stdout: true, stderr: true });
    const lg = demux(docker, logs);
    await eventually('history in the followed logs', async () => lg.stdout().includes('hello-out\n'));
    const last = Number(/tick (\d+)\n$/.exec(att.stdout())?.[1]);
    await eventually('a new line in the followed logs', async () => lg.stdout().includes(`tick ${last + 3}\n`));
    assert.equal(lg.stderr(), 'hello-err\n');

    const streamsEnded = Promise.all([ended(logs), ended(attached)]);
    await container.stop({ t: 1 });
    await streamsEnded; // follow and attach end when the container does
    const stopped = await container.inspect();
    assert.equal(stopped.State.Status, 'exited');
    assert.equal(stopped.State.Running, false);
    assert.deepEqual(
      (await docker.listContainers({ all: true, filters: { label: ['berth.test=dockerode'] } })).map((c) => c.State),
      ['exited'],
    );

    await container.remove();
    await assert.rejects(container.inspect(), (err: Error & { statusCode?: number }) => {
      assert.equal(err.statusCode, 404);
      assert.match(err.message, /No such container/);
      return true;
    });
  });

  test('stats: one sample, and a stream with cpu and memory figures', async () => {
    const docker = client();
    const container = await docker.createContainer({ Image: fx.image, Cmd: ['sh', '-c', 'while true; do :; done'] });
    await container.start();
    try {
      const one = await container.stats({ stream: false });
      assert.ok(one.memory_stats.usage! > 0, JSON.stringify(one.memory_stats));
      assert.ok(one.pids_stats?.current! >= 1);
      const stream = (await container.stats({ stream: true })) as unknown as Readable;
      const samples: Docker.ContainerStats[] = [];
      let buf = '';
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.on('data', (b: Buffer) => {
          buf += b.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) !== -1) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) samples.push(JSON.parse(line) as Docker.ContainerStats);
          }
          if (samples.length >= 2) resolve();
        });
      });
      stream.destroy();
      const [a, b] = samples as [Docker.ContainerStats, Docker.ContainerStats];
      // The second sample's precpu is the first's cpu: a busy loop shows CPU use between them.
      assert.equal(b.precpu_stats.cpu_usage.total_usage, a.cpu_stats.cpu_usage.total_usage);
      assert.ok(b.cpu_stats.cpu_usage.total_usage > a.cpu_stats.cpu_usage.total_usage);
      assert.ok(Date.parse(b.read) > Date.parse(a.read));
    } finally {
      await container.remove({ force: true });
    }
  });

  test('getEvents streams the lifecycle of a container as it happens', async () => {
    const docker = client();
    const events = (await docker.getEvents({ filters: { type: ['container'], label: ['berth.test=events'] } })) as unknown as Readable;
    const seen: { Action: string; id: string; Actor: { Attributes: Record<string, string> } }[] = [];
    let buf = '';
    events.on('data', (b: Buffer) => {
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l.trim()) seen.push(JSON.parse(l));
    });
    const container = await docker.createContainer({ Image: fx.image, Cmd: ['true'], Labels: { 'berth.test': 'events' } });
    await container.start();
    await container.wait();
    await container.remove();
    await eventually('the destroy event', async () => seen.some((e) => e.Action === 'destroy'));
    events.destroy();
    assert.deepEqual(
      seen.map((e) => e.Action),
      ['create', 'start', 'die', 'destroy'],
    );
    assert.ok(seen.every((e) => e.id === container.id && e.Actor.Attributes['berth.test'] === 'events'));
    assert.equal(seen.find((e) => e.Action === 'die')!.Actor.Attributes.exitCode, '0');
  });

  test('errors come back as dockerode errors with the status code and the engine message', async () => {
    const docker = client();
    await assert.rejects(docker.createContainer({ Image: `${fx.reg.domain}/test/missing:latest` }), (err: Error & { statusCode?: number }) => {
      assert.equal(err.statusCode, 404);
      assert.match(err.message, /No such image/);
      return true;
    });
    await assert.rejects(docker.getContainer('nope').remove(), (err: Error & { statusCode?: number }) => err.statusCode === 404);
  });
});
