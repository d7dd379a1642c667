/**
 * The set-up most VM suites share: a local registry with one test image, a
 * booted guest (startTestVm), the docker CLI on its host socket, and the
 * image pulled into it. Registers node:test before/after hooks.
 */
import { after, before } from 'node:test';
import { DockerCli } from './docker.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { pushImage, type BuiltImage } from './test-images.js';
import { startTestVm, type TestVm } from './vm.js';

export interface VmWithImage {
  vm: TestVm;
  registry: TestRegistry;
  docker: DockerCli;
  /** The pulled image's reference. */
  image: string;
}

/** `repository` is "suite/name"; the image is pushed as its tag "1". */
export function useVmWithImage(prefix: string, distMarker: string, repository: string, build: () => Promise<BuiltImage>): VmWithImage {
  const fx = {} as VmWithImage;
  before(async () => {
    fx.registry = await startRegistry();
    await pushImage({ url: fx.registry.url }, repository, '1', await build());
    fx.image = `localhost:${new URL(fx.registry.url).port}/${repository}:1`;
    fx.vm = await startTestVm(prefix, distMarker);
    fx.docker = new DockerCli(fx.vm.socket);
    await fx.docker.ok(['pull', fx.image], { timeoutMs: 180_000 });
  });
  after(async () => {
    await fx.vm?.dispose();
    await fx.registry?.stop();
    fx.docker?.dispose();
  });
  return fx;
}
