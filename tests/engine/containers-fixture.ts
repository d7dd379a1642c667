/**
 * Shared set-up of the containers-*.test.ts suites: a real agent, a real
 * registry holding a busybox image built by the independent test-image
 * code, pulled into the agent with the docker CLI.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { useAgent, type StartAgentOptions } from '../helpers/agent.js';
import { DockerCli, engineRequest, type RunResult } from '../helpers/docker.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage, type BusyboxImageOptions } from '../helpers/test-images.js';

export interface ContainersFixture {
  agent: ReturnType<typeof useAgent>;
  docker: DockerCli;
  /** The pulled busybox image's reference in the agent. */
  image: string;
  reg: TestRegistry;
  /** Builds, pushes and pulls another busybox image; returns its reference. */
  extraImage(name: string, opts: BusyboxImageOptions): Promise<string>;
}

export function useContainersFixture(agentOpts: StartAgentOptions = {}): ContainersFixture {
  const agent = useAgent(agentOpts);
  const fx = { agent } as ContainersFixture;
  before(async () => {
    await agent.ready;
    fx.docker = new DockerCli(agent.current.socket);
    fx.reg = await startRegistry();
    fx.extraImage = async (name, opts) => {
      const img = await buildBusyboxImage(opts);
      const ref = `${fx.reg.domain}/test/${name}:latest`;
      await pushImage({ url: fx.reg.url }, `test/${name}`, 'latest', img);
      await fx.docker.ok(['pull', '-q', ref]);
      return ref;
    };
    fx.image = await fx.extraImage('busybox', {});
  });
  after(async () => {
    fx.docker?.dispose();
    await fx.reg?.stop();
  });
  return fx;
}

/** Polls until `check` passes (returns true), or fails with the last state it saw. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}

export async function inspect<T = Record<string, unknown>>(docker: DockerCli, name: string, format = '{{json .}}'): Promise<T> {
  const r = await docker.ok(['inspect', '--format', format, name]);
  return JSON.parse(r.stdout) as T;
}

/** The engine still answers after a bad request. */
export async function assertServing(fx: ContainersFixture): Promise<void> {
  const r = await engineRequest(fx.agent.current.socket, 'GET', '/_ping');
  assert.equal(r.status, 200);
}

export function out(r: RunResult): string {
  return r.stdout.trim();
}
