/**
 * Shared set-up of the clients-*.test.ts suites: a real agent and a real
 * registry holding a busybox image (built by the independent test-image
 * code) that is NOT yet in the agent, so each client pulls it its own way.
 */
import { after, before } from 'node:test';
import { useAgent } from '../../helpers/agent.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { buildBusyboxImage, pushImage } from '../../helpers/test-images.js';

export interface ClientsFixture {
  agent: ReturnType<typeof useAgent>;
  reg: TestRegistry;
  /** `127.0.0.1:PORT/test/busybox:latest`, in the registry only. */
  image: string;
}

export function useClientsFixture(): ClientsFixture {
  const agent = useAgent();
  const fx = { agent } as ClientsFixture;
  before(async () => {
    await agent.ready;
    fx.reg = await startRegistry();
    await pushImage({ url: fx.reg.url }, 'test/busybox', 'latest', await buildBusyboxImage({}));
    fx.image = `${fx.reg.domain}/test/busybox:latest`;
  });
  after(async () => {
    await fx.reg?.stop();
  });
  return fx;
}
