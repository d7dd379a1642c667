// `docker build` through the VM's host socket (issue 9, VM mode; native is
// tests/engine/build-cli.test.ts): the context tar crosses the SSH link, the
// base image comes from a registry on the host's loopback, RUN steps run in
// the guest. A multi-stage build, the same build again from cache, and a run
// of the result. Lean on purpose: the guest runs under TCG here.
//
// Boots with `berth start` (tests/helpers/vm.ts); needs `npm run build`.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerCli, type RunResult } from '../helpers/docker.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage } from '../helpers/test-images.js';
import { startTestVm, type TestVm } from '../helpers/vm.js';

describe('docker build through the VM host socket', { timeout: 600_000 }, () => {
  let vm: TestVm;
  let registry: TestRegistry;
  let docker: DockerCli;
  let context: string;

  before(async () => {
    registry = await startRegistry();
    await pushImage({ url: registry.url }, 'build/busybox', '1', await buildBusyboxImage());
    vm = await startTestVm('berth-build-vm-', 'Using cache');
    docker = new DockerCli(vm.socket);
    context = join(vm.work, 'context');
    mkdirSync(context);
    // localhost as the user writes it; inside the VM it is mapped to the host.
    const base = `localhost:${new URL(registry.url).port}/build/busybox:1`;
    writeFileSync(
      join(context, 'Dockerfile'),
      `FROM ${base} AS gen
COPY greeting.txt /src/greeting.txt
RUN tr a-z A-Z < /src/greeting.txt > /src/out.txt
FROM ${base}
COPY --from=gen /src/out.txt /app/out.txt
CMD ["cat", "/app/out.txt"]
`,
    );
    writeFileSync(join(context, 'greeting.txt'), 'built in the vm\n');
  });

  after(async () => {
    docker?.dispose();
    await vm?.dispose();
    await registry?.stop();
  });

  const build = (): Promise<RunResult> => docker.ok(['build', '-t', 'vmbuilt:1', context], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 300_000 });

  it('builds a multi-stage Dockerfile, rebuilds it from cache, and runs the image', async () => {
    const first = await build();
    assert.match(first.stdout, /Step 3\/6 : RUN tr a-z A-Z/);
    assert.match(first.stdout, /Successfully tagged vmbuilt:1/);
    assert.doesNotMatch(first.stdout, /Using cache/);

    const second = await build();
    // Every step after each FROM comes from the cache: COPY, RUN, COPY --from, CMD.
    assert.equal(second.stdout.match(/---> Using cache/g)?.length, 4, second.stdout);
    const id = (r: RunResult) => /Successfully built ([0-9a-f]{12})/.exec(r.stdout)?.[1];
    assert.ok(id(first));
    assert.equal(id(second), id(first));

    const run = await docker.ok(['run', '--rm', 'vmbuilt:1'], { timeoutMs: 120_000 });
    assert.equal(run.stdout, 'BUILT IN THE VM\n');
  });
});
