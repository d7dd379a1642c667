/**
 * `docker build` (classic builder, DOCKER_BUILDKIT=0) against a real agent:
 * multi-stage builds with busybox tools, the layer cache and its
 * invalidation, .dockerignore, every instruction seen through inspect and
 * history, the built image run/pushed/saved, and the error cases.
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { engineRequest, runCommand, type RunResult } from '../helpers/docker.js';
import { makeTar } from '../helpers/test-images.js';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const dirs: string[] = [];

/** A context directory with these files (path -> content). */
async function context(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-build-ctx-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

function build(dir: string, args: string[] = [], env: Record<string, string> = { DOCKER_BUILDKIT: '0' }): Promise<RunResult> {
  return fx.docker.run(['build', ...args, dir], { env, timeoutMs: 120_000 });
}

async function buildOk(dir: string, args: string[] = []): Promise<RunResult> {
  const r = await build(dir, args);
  assert.equal(r.code, 0, `docker build failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

const builtId = (r: RunResult) => /Successfully built ([0-9a-f]{12})/.exec(r.stdout)?.[1];

async function leftoverContainers(): Promise<string> {
  return out(await fx.docker.ok(['ps', '-a', '-q']));
}

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('docker build', () => {
  let base: string;
  before(() => {
    base = fx.image;
  });

  test('a multi-stage build of a small program; the image runs; a second build is all cache hits', async () => {
    const dir = await context({
      Dockerfile: `ARG BASE=${base}
FROM \${BASE} AS gen
WORKDIR /src
COPY greet.sh .
RUN sh greet.sh > out.txt && echo "built in stage one"
FROM \${BASE}
COPY --from=gen /src/out.txt /app/out.txt
CMD ["cat", "/app/out.txt"]
`,
      'greet.sh': 'echo "hello from a berth build"\n',
    });
    const first = await buildOk(dir, ['-t', 'built/multi:1']);
    assert.match(first.stdout, /Step 1\/8 : ARG BASE=/);
    assert.match(first.stdout, /Step 2\/8 : FROM \$\{BASE\} AS gen\n ---> [0-9a-f]{12}\n/);
    assert.match(
      first.stdout,
      /Step 5\/8 : RUN sh greet.sh > out.txt && echo "built in stage one"\n ---> Running in ([0-9a-f]{12})\nbuilt in stage one\n ---> Removed intermediate container \1\n ---> [0-9a-f]{12}\n/,
    );
    assert.match(first.stdout, /Successfully tagged built\/multi:1\n/);
    assert.doesNotMatch(first.stdout, /Using cache/);
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'built/multi:1'])), 'hello from a berth build');
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'built/multi:1', 'cat', '/app/out.txt'])), 'hello from a berth build');
    assert.equal(await leftoverContainers(), '', 'intermediate containers are removed');

    const second = await buildOk(dir, ['-t', 'built/multi:2']);
    assert.equal((second.stdout.match(/ ---> Using cache/g) ?? []).length, 5, second.stdout);
    assert.equal(builtId(second), builtId(first));
    assert.doesNotMatch(second.stdout, /Running in/);

    // A changed file invalidates its COPY and every step after it, not the ones before.
    await writeFile(join(dir, 'greet.sh'), 'echo "hello again"\n');
    const third = await buildOk(dir, ['-t', 'built/multi:3']);
    assert.match(third.stdout, /Step 3\/8 : WORKDIR \/src\n ---> Using cache\n/);
    assert.match(third.stdout, /Step 4\/8 : COPY greet.sh .\n ---> [0-9a-f]{12}\n/);
    assert.match(third.stdout, /Step 5\/8 : RUN .*\n ---> Running in/);
    assert.notEqual(builtId(third), builtId(first));
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'built/multi:3'])), 'hello again');
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'built/multi:1'])), 'hello from a berth build');

    // --no-cache runs everything again.
    const fresh = await buildOk(dir, ['--no-cache', '-q']);
    assert.match(fresh.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  });

  test('docker images hides the intermediate step images; --all shows them', async () => {
    const dir = await context({
      Dockerfile: `FROM ${fx.image}\nRUN echo one > /one\nRUN echo two > /two\nCMD ["cat", "/two"]\n`,
    });
    await buildOk(dir, ['-t', 'layers/app:1']);
    // The step images of this build: the history IDs other than the final image and the base.
    const ids = out(await fx.docker.ok(['history', '-q', 'layers/app:1']))
      .split('\n')
      .filter((l) => l && l !== '<missing>');
    const steps = ids.slice(1, 3);
    assert.equal(steps.length, 2, `two RUN step images in the history: ${ids.join(', ')}`);
    const shown = out(await fx.docker.ok(['images', '-q'])).split('\n');
    const all = out(await fx.docker.ok(['images', '--all', '-q'])).split('\n');
    for (const id of steps) {
      assert.ok(!shown.includes(id), `${id} is hidden without --all`);
      assert.ok(all.includes(id), `${id} is listed with --all`);
    }
    assert.ok(shown.includes(ids[0]!), 'the built image is listed');
  });

  test('the cache survives an agent restart', async () => {
    const dir = await context({ Dockerfile: `FROM ${base}\nRUN echo one > /one\nENV X=1\n` });
    const a = await buildOk(dir);
    await fx.agent.current.restart();
    const b = await buildOk(dir);
    assert.equal((b.stdout.match(/Using cache/g) ?? []).length, 2, b.stdout);
    assert.equal(builtId(a), builtId(b));
  });

  test('.dockerignore: patterns, ** and ! exceptions (applied by the engine too)', async () => {
    const files = {
      Dockerfile: `FROM ${base}\nCOPY . /ctx/\n`,
      '.dockerignore': '# comment\nsecret.txt\n**/*.log\ndocs\n!docs/keep.md\n',
      'secret.txt': 'no',
      'app/run.log': 'no',
      'app/main.sh': 'yes',
      'docs/a.md': 'no',
      'docs/keep.md': 'yes',
    };
    const dir = await context(files);
    await buildOk(dir, ['-t', 'built/ignore']);
    const listing = out(await fx.docker.ok(['run', '--rm', 'built/ignore', 'find', '/ctx', '-type', 'f']));
    assert.deepEqual(listing.split('\n').sort(), ['/ctx/.dockerignore', '/ctx/Dockerfile', '/ctx/app/main.sh', '/ctx/docs/keep.md']);

    // The CLI filters too; send the whole context over the API to see the engine's own filtering.
    const tar = await makeTar(Object.entries(files).map(([path, content]) => ({ path, content })));
    const res = await engineRequest(fx.agent.current.socket, 'POST', '/build?t=built/ignore-api', {
      body: tar,
      headers: { 'content-type': 'application/x-tar' },
      timeoutMs: 60_000,
    });
    assert.equal(res.status, 200, res.body.toString());
    assert.match(res.body.toString(), /"aux":\{"ID":"sha256:[0-9a-f]{64}"\}/);
    const viaApi = out(await fx.docker.ok(['run', '--rm', 'built/ignore-api', 'find', '/ctx', '-type', 'f']));
    assert.deepEqual(viaApi.split('\n').sort(), listing.split('\n').sort());
  });

  test('every instruction lands in the config; history shows the steps', async () => {
    const archive = await makeTar([{ path: 'unpacked/inner.txt', content: 'from the archive\n' }]);
    const dir = await context({
      Dockerfile: `# escape=\`
FROM ${base}
MAINTAINER Berth Tests <tests@berth.invalid>
ARG VERSION=1.0
ENV APP_HOME=/opt/app \`
    GREETING="hello world"
LABEL org.example.version=$VERSION "org.example.name"="demo app"
WORKDIR $APP_HOME
COPY --chown=nobody:nogroup files/ ./files/
ADD bundle.tar /opt/
RUN echo "$GREETING v$VERSION" > greeting.txt
EXPOSE 8080 53/udp
VOLUME ["/data"]
USER nobody
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD cat /opt/app/greeting.txt
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo triggered
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat greeting.txt"]
`,
      'files/a.txt': 'a\n',
      'bundle.tar': archive,
    });
    const r = await buildOk(dir, ['-t', 'built/all', '--build-arg', 'VERSION=2.5', '--label', 'from.cli=yes']);
    assert.match(r.stdout, /Step 19\/19 : LABEL "from.cli"="yes"/);
    const c = await inspect<Record<string, unknown>>(fx.docker, 'built/all', '{{json .Config}}');
    assert.deepEqual(
      (c.Env as string[]).filter((e) => !e.startsWith('PATH=')),
      ['APP_HOME=/opt/app', 'GREETING=hello world'],
      'ARG values are not kept in the image',
    );
    assert.deepEqual(c.Cmd, ['cat greeting.txt']);
    assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
    assert.equal(c.WorkingDir, '/opt/app');
    assert.equal(c.User, 'nobody');
    assert.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
    assert.deepEqual(c.Volumes, { '/data': {} });
    assert.deepEqual(c.Labels, { 'org.example.version': '2.5', 'org.example.name': 'demo app', 'from.cli': 'yes' });
    assert.equal(c.StopSignal, 'SIGINT');
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'cat /opt/app/greeting.txt'], Interval: 5e9, Timeout: 2e9, Retries: 4 });
    assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
    assert.deepEqual(c.OnBuild, ['RUN echo triggered']);
    assert.equal(out(await fx.docker.ok(['image', 'inspect', '--format', '{{.Author}}', 'built/all'])), 'Berth Tests <tests@berth.invalid>');

    assert.equal(out(await fx.docker.ok(['run', '--rm', 'built/all'])), 'hello world v2.5');
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'built/all', 'cat /opt/unpacked/inner.txt'])), 'from the archive');
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'built/all', 'stat -c %U:%G files/a.txt'])), 'nobody:nogroup');

    const history = out(await fx.docker.ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'built/all'])).split('\n');
    assert.ok(history.includes('/bin/sh -ec #(nop)  CMD ["cat greeting.txt"]'), history.join('\n'));
    assert.ok(history.includes('|1 VERSION=2.5 /bin/sh -c echo "$GREETING v$VERSION" > greeting.txt'), history.join('\n'));
    assert.ok(
      history.some((h) => /^\/bin\/sh -c #\(nop\) COPY dir:[0-9a-f]{64} in \/opt\/app\/files\/ $/.test(h)),
      history.join('\n'),
    );
    assert.ok(history.includes('/bin/sh -c #(nop) WORKDIR /opt/app'), history.join('\n'));

    // ONBUILD triggers run in a build FROM the image.
    const child = await context({ Dockerfile: 'FROM built/all\nRUN true\n' });
    const cr = await buildOk(child, ['-t', 'built/child']);
    assert.match(cr.stdout, /# Executing 1 build trigger\n(.|\n)*triggered\n/);
  });

  test('-f, --target and the 20.10 client', async () => {
    const dir = await context({
      'build/Custom.dockerfile': `FROM ${base} AS one\nRUN echo stage-one > /which\nFROM one AS two\nRUN echo stage-two > /which\n`,
    });
    await buildOk(dir, ['-f', join(dir, 'build/Custom.dockerfile'), '--target', 'one', '-t', 'built/target']);
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'built/target', 'cat', '/which'])), 'stage-one');
    const old = await runCommand('/usr/bin/docker', ['build', '-f', join(dir, 'build/Custom.dockerfile'), '-t', 'built/old', dir], {
      env: { DOCKER_HOST: fx.docker.host, DOCKER_CONFIG: fx.docker.configDir },
      timeoutMs: 120_000,
    });
    assert.equal(old.code, 0, old.stdout + old.stderr);
    assert.match(old.stdout, /Successfully tagged built\/old:latest/);
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'built/old', 'cat', '/which'])), 'stage-two');
  });

  test('the built image pushes and saves like a pulled one', async () => {
    const dir = await context({ Dockerfile: `FROM ${base}\nRUN echo pushed > /p\n` });
    const ref = `${fx.reg.domain}/built/push:1`;
    await buildOk(dir, ['-t', ref]);
    await fx.docker.ok(['push', ref]);
    await fx.docker.ok(['rmi', ref]);
    await fx.docker.ok(['pull', ref]);
    assert.equal(out(await fx.docker.ok(['run', '--rm', ref, 'cat', '/p'])), 'pushed');
    const tarPath = join(dirs[0]!, 'saved.tar');
    await fx.docker.ok(['save', '-o', tarPath, ref]);
    await fx.docker.ok(['rmi', ref]);
    await fx.docker.ok(['load', '-i', tarPath]);
    assert.equal(out(await fx.docker.ok(['run', '--rm', ref, 'cat', '/p'])), 'pushed');
  });

  test("errors point at the line; a failed build tags nothing and leaves the failed step's container (as dockerd's --rm), none with --force-rm", async () => {
    const unknown = await context({ Dockerfile: `FROM ${base}\nRUN true\nFORM x\n` });
    const u = await build(unknown, ['-t', 'built/bad']);
    assert.notEqual(u.code, 0);
    assert.match(u.stderr, /dockerfile parse error on line 3: unknown instruction: FORM/);

    const failing = await context({ Dockerfile: `FROM ${base}\nRUN echo partial > /x\nRUN echo "about to fail" && exit 3\nCMD ["sh"]\n` });
    const f = await build(failing, ['-t', 'built/fails']);
    assert.equal(f.code, 1);
    assert.match(f.stdout, /about to fail\n/);
    assert.match(f.stderr, /The command '\/bin\/sh -c echo "about to fail" && exit 3' returned a non-zero code: 3/);
    assert.match(f.stderr, /Dockerfile line 3/);
    const tagged = await fx.docker.run(['image', 'inspect', 'built/fails']);
    assert.notEqual(tagged.code, 0, 'nothing is tagged after a failed build');
    // dockerd 20.10 on this machine keeps the failed step's container (Exited (3)) for a look, and only that one
    const kept = await leftoverContainers();
    assert.match(kept, /^[0-9a-f]{12}$/);
    assert.match(out(await fx.docker.ok(['ps', '-a', '--format', '{{.Status}}'])), /^Exited \(3\)/);
    await fx.docker.ok(['rm', kept]);
    const forced = await build(failing, ['--force-rm']);
    assert.equal(forced.code, 1);
    assert.equal(await leftoverContainers(), '', '--force-rm removes it');

    const missing = await context({ Dockerfile: `FROM ${base}\nCOPY nope.txt /\n` });
    const m = await build(missing);
    assert.notEqual(m.code, 0);
    assert.match(
      m.stderr,
      /COPY failed: file not found in build context or excluded by \.dockerignore: stat nope\.txt: file does not exist \(Dockerfile line 2\)/,
    );

    const outside = await context({ Dockerfile: `FROM ${base}\n\nCOPY ../../etc/passwd /stolen\n` });
    const o = await build(outside);
    assert.notEqual(o.code, 0);
    assert.match(o.stderr, /COPY failed: forbidden path outside the build context: \.\.\/\.\.\/etc\/passwd \(\) \(Dockerfile line 3\)/);

    const url = await context({ Dockerfile: `FROM ${base}\nADD http://example.invalid/x /x\n` });
    const a = await build(url);
    assert.match(a.stderr, /ADD from a URL \(http:\/\/example.invalid\/x\) is not supported/);
    assert.equal(await leftoverContainers(), '');
  });
});
