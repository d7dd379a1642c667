/**
 * Network routes: create, list, inspect, remove, prune, connect, disconnect
 * (`docker network ...`).
 */
import { invalidParameter } from '../../errors.js';
import type { CreateNetworkRequest } from '../../network/network-records.js';
import type { NetworkService } from '../../network/network-service.js';
import type { EndpointSettingsRequest, NetworkRecord } from '../../network/network-types.js';
import { NETWORK_CONNECT, NETWORK_CREATE, checkBody } from '../body-shapes.js';
import { checkFilterKeys, parseFilters, readJson, sendJson } from '../http-io.js';
import type { Router } from '../router.js';

export interface NetworkRoutesDeps {
  networks: NetworkService;
  /** A container by id, name or id prefix (404 when unknown): its id and its init's pid when it runs (else 0). */
  findContainer: (ref: string) => { id: string; pid: number };
}

/** The API's view of a record: internal fields dropped, running containers listed. */
function view(svc: NetworkService, n: NetworkRecord, withContainers: boolean) {
  const { bridge: _b, predefined: _p, userSubnet: _u, ...api } = n;
  return { ...api, Containers: withContainers ? svc.containersOn(n.Id) : {} };
}

function matches(svc: NetworkService, n: NetworkRecord, filters: Map<string, string[]>): boolean {
  const any = (key: string, test: (v: string) => boolean) => !filters.has(key) || filters.get(key)!.some(test);
  return (
    any('name', (v) => n.Name.includes(v)) &&
    any('id', (v) => n.Id.startsWith(v)) &&
    any('driver', (v) => n.Driver === v) &&
    any('scope', (v) => v === 'local') &&
    any('type', (v) => (v === 'builtin' ? n.predefined : v === 'custom' ? !n.predefined : false)) &&
    any('label', (v) => {
      const [k, val] = v.split('=');
      return k! in n.Labels && (val === undefined || n.Labels[k!] === val);
    }) &&
    any('dangling', (v) => (v === 'true' || v === '1') === (!n.predefined && Object.keys(svc.containersOn(n.Id)).length === 0))
  );
}

export function networkRoutes(r: Router, deps: NetworkRoutesDeps): void {
  const svc = deps.networks;

  r.get('/networks', ({ res, query }) => {
    const filters = parseFilters(query);
    checkFilterKeys(filters, ['name', 'id', 'driver', 'scope', 'type', 'label', 'dangling']);
    sendJson(
      res,
      200,
      svc
        .list()
        .filter((n) => matches(svc, n, filters))
        .map((n) => view(svc, n, false)),
    );
  });

  r.get('/networks/{id}', ({ res, params }) => {
    sendJson(res, 200, view(svc, svc.resolve(params.id!), true));
  });

  r.post('/networks/create', async ({ req, res }) => {
    const body = checkBody<CreateNetworkRequest | undefined>(await readJson(req), NETWORK_CREATE);
    if (!body || typeof body !== 'object') throw invalidParameter('network config cannot be empty');
    sendJson(res, 201, await svc.create(body));
  });

  r.delete('/networks/{id}', async ({ res, params }) => {
    await svc.remove(params.id!);
    res.writeHead(204).end();
  });

  r.post('/networks/prune', async ({ res, query }) => {
    const filters = parseFilters(query);
    checkFilterKeys(filters, ['label', 'label!', 'until']);
    const until = filters.get('until')?.[0];
    const untilMs = until ? (/^\d+$/.test(until) ? Number(until) * 1000 : Date.parse(until)) : undefined;
    const keep = (n: NetworkRecord) =>
      (untilMs !== undefined && Date.parse(n.Created) >= untilMs) ||
      !(filters.get('label') ?? []).every((l) => {
        const [k, v] = l.split('=');
        return k! in n.Labels && (v === undefined || n.Labels[k!] === v);
      }) ||
      (filters.get('label!') ?? []).some((l) => {
        const [k, v] = l.split('=');
        return k! in n.Labels && (v === undefined || n.Labels[k!] === v);
      });
    sendJson(res, 200, { NetworksDeleted: await svc.prune(keep) });
  });

  r.post('/networks/{id}/connect', async ({ req, res, params }) => {
    const body = checkBody<{ Container?: string; EndpointConfig?: EndpointSettingsRequest | null }>((await readJson(req)) ?? {}, NETWORK_CONNECT);
    if (!body.Container) throw invalidParameter('a container is required: docker network connect NETWORK CONTAINER');
    const net = svc.resolve(params.id!);
    const c = deps.findContainer(body.Container);
    await svc.connect(net.Id, c.id, body.EndpointConfig ?? {}, c.pid || undefined);
    res.writeHead(200).end();
  });

  r.post('/networks/{id}/disconnect', async ({ req, res, params }) => {
    const body = checkBody<{ Container?: string; Force?: boolean }>((await readJson(req)) ?? {}, NETWORK_CONNECT);
    if (!body.Container) throw invalidParameter('a container is required: docker network disconnect NETWORK CONTAINER');
    const net = svc.resolve(params.id!);
    const c = deps.findContainer(body.Container);
    await svc.disconnect(net.Id, c.id);
    res.writeHead(200).end();
  });
}
