/** Networks and endpoints as the agent keeps them: dockerd's field names where the API shows them. */
import type { DnsSettings } from './container-files.js';
import type { PortBindings } from './port-spec.js';

export type NetworkDriver = 'bridge' | 'host' | 'null';

export interface IpamConfig {
  Subnet: string;
  Gateway: string;
}

/** A network's record on disk (`network/networks/<id>.json`); inspect adds Containers. */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: NetworkDriver;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** The Linux bridge of a bridge network ("" for host and none). Not in the API. */
  bridge: string;
  /** True for the default bridge, host and none: they cannot be removed. */
  predefined: boolean;
  /** The subnet was given by the user (`--subnet`): only then is `--ip` allowed. */
  userSubnet: boolean;
}

/** The endpoint settings a container asks for on one network (EndpointsConfig[net]). */
export interface EndpointSettingsRequest {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

/** A container's attachment to a network while it runs. */
export interface ActiveEndpoint {
  networkId: string;
  endpointId: string;
  address: string;
  prefix: number;
  gateway: string;
  mac: string;
  /** Host end of the veth pair. */
  hostIf: string;
  ifName: string;
}

/** What the network layer keeps per container (`network/containers.json`). */
export interface ContainerNetworking {
  name: string;
  /** HostConfig.NetworkMode as stored ("bridge", "host", "none", a network name). */
  mode: string;
  /** Network id -> what the container asked for on it. */
  configured: Record<string, EndpointSettingsRequest>;
  /** Network id -> endpoint, while the container runs. */
  active: Record<string, ActiveEndpoint>;
}

/** EndpointSettings as inspect shows them. */
export interface EndpointSettings {
  IPAMConfig: EndpointSettingsRequest['IPAMConfig'] | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  GwPriority: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

export type PortMap = Record<string, { HostIp: string; HostPort: string }[] | null>;

/** What attach needs to know about a container (from its record). */
export interface AttachSpec {
  id: string;
  hostname: string;
  domainname?: string;
  extraHosts?: string[] | null;
  /** HostConfig.Links: "name:alias" or dockerd's "/name:/container/alias". */
  links?: string[] | null;
  dns?: DnsSettings;
  portBindings?: PortBindings | null;
  publishAllPorts?: boolean;
  exposedPorts?: Record<string, object>;
}

export interface AttachResult {
  /** The content of the container's /etc/hosts, /etc/resolv.conf and /etc/hostname. */
  hosts: string;
  resolvConf: string;
  hostname: string;
}

/** A container `--link` points at. */
export interface LinkTarget {
  alias: string;
  id: string;
  name: string;
  /** Its address on the linking container's network. */
  address: string;
}
