/**
 * The engine's seam to the network layer (NetworkAttacher): maps a
 * container record to what network/ needs, and writes the /etc files the
 * container's binds point at (`<container dir>/hosts`, `resolv.conf`,
 * `hostname`). The files are rewritten in place while the process waits at
 * its start gate, before its binds are made, so it only ever sees the new
 * ones.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidParameter } from '../errors.js';
import type { NetworkService } from '../network/network-service.js';
import type { EndpointSettingsRequest } from '../network/network-types.js';
import type { PortBindings } from '../network/port-spec.js';
import type { CreateRequest } from './container-create.js';
import type { ContainerRecord } from './container-types.js';
import type { NetworkAttacher } from './container-registry.js';

export class ContainerNetwork implements NetworkAttacher {
  constructor(
    private readonly networks: NetworkService,
    /** The container's state directory (where etcFiles writes). */
    private readonly dirOf: (id: string) => string,
  ) {}

  /** At create: records and validates the networks (404 unknown network, 400 a bad --ip). */
  configure(rec: ContainerRecord, networking: CreateRequest['NetworkingConfig']): Promise<void> {
    const endpoints = { ...((networking?.EndpointsConfig ?? {}) as Record<string, EndpointSettingsRequest>) };
    // NetworkDisabled: no network but the loopback, whatever the mode says (as dockerd skips network set-up)
    const mode = rec.Config.NetworkDisabled ? 'none' : rec.HostConfig.NetworkMode;
    const mac = rec.Config.MacAddress;
    if (mac) {
      if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) throw invalidParameter('conflicting options: mac-address and the network mode');
      // API < 1.44 clients send it in Config; dockerd gives it to the endpoint of the container's own network
      const key = mode === 'default' ? 'bridge' : mode;
      endpoints[key] = { ...endpoints[key], MacAddress: endpoints[key]?.MacAddress || mac };
    }
    return this.networks.configure(rec.Id, rec.Name, mode, endpoints);
  }

  linked(rec: ContainerRecord) {
    return this.networks.linkedContainers(rec.Id, (rec.HostConfig.Links as string[] | null | undefined) ?? []);
  }

  /** NetworkSettings.Networks and .Ports for inspect, and the Ports list of `docker ps`. */
  view(rec: ContainerRecord) {
    return {
      Networks: this.networks.endpoints(rec.Id),
      Ports: this.networks.ports(rec.Id, rec.Config.ExposedPorts),
      summaryPorts: this.networks.portSummary(rec.Id, rec.Config.ExposedPorts),
    };
  }

  async attach(rec: ContainerRecord, pid: number): Promise<void> {
    // Containers created before networking existed get their NetworkMode only.
    if (!this.networks.modeOf(rec.Id)) await this.configure(rec, undefined);
    const hc = rec.HostConfig;
    const files = await this.networks.attach(
      {
        id: rec.Id,
        hostname: rec.Config.Hostname,
        domainname: rec.Config.Domainname,
        extraHosts: hc.ExtraHosts as string[] | null | undefined,
        links: hc.Links as string[] | null | undefined,
        dns: {
          dns: (hc.Dns as string[] | undefined) ?? [],
          dnsSearch: (hc.DnsSearch as string[] | undefined) ?? [],
          dnsOptions: (hc.DnsOptions as string[] | undefined) ?? [],
        },
        portBindings: hc.PortBindings as PortBindings | null | undefined,
        publishAllPorts: hc.PublishAllPorts === true,
        exposedPorts: rec.Config.ExposedPorts,
      },
      pid,
    );
    const dir = this.dirOf(rec.Id);
    await writeFile(join(dir, 'hosts'), files.hosts);
    await writeFile(join(dir, 'resolv.conf'), files.resolvConf);
  }

  detach(rec: ContainerRecord): Promise<void> {
    return this.networks.detach(rec.Id);
  }

  /** At rm. */
  forget(rec: ContainerRecord): Promise<void> {
    return this.networks.forget(rec.Id);
  }
}
