/**
 * Engine plugins (`docker plugin ...`): Berth runs none, and says so as
 * dockerd with no plugin installed would: the list is empty, a named plugin
 * is `plugin "NAME" not found` (404), and installing or creating one is
 * refused (501) naming the drivers that are built in instead. `docker plugin
 * install` asks for the plugin's privileges first, so that is where its
 * refusal lands.
 */
import { invalidParameter, notFound, notImplemented } from '../../errors.js';
import { checkFilterKeys, parseFilters, sendJson } from '../http-io.js';
import type { Router } from '../router.js';

const BUILT_IN = 'its volume driver (local), network drivers (bridge, host, null) and log driver (json-file) are built in';

function noPlugins(what: string): Error {
  return notImplemented(`Berth does not run Docker Engine plugins, so ${what}: ${BUILT_IN}`);
}

export function pluginRoutes(r: Router): void {
  r.get('/plugins', ({ res, query }) => {
    const filters = parseFilters(query);
    checkFilterKeys(filters, ['capability', 'enabled']);
    for (const v of filters.get('enabled') ?? []) if (v !== 'true' && v !== 'false') throw invalidParameter(`invalid filter 'enabled=${v}'`);
    sendJson(res, 200, []);
  });
  // `docker plugin install` asks for the privileges, then pulls: both are refused the same way.
  const install = ({ query }: { query: URLSearchParams }) => {
    const remote = query.get('remote');
    throw noPlugins(remote ? `${remote} cannot be installed` : 'no plugin can be installed');
  };
  r.get('/plugins/privileges', install);
  r.post('/plugins/pull', install);
  r.post('/plugins/create', ({ query }) => {
    const name = query.get('name');
    throw noPlugins(name ? `plugin ${name} cannot be created` : 'no plugin can be created');
  });
  const missing = ({ params }: { params: Record<string, string> }) => {
    throw notFound(`plugin ${JSON.stringify(params.name)} not found`);
  };
  r.get('/plugins/{name:.*}/json', missing);
  r.delete('/plugins/{name:.*}', missing);
  for (const action of ['enable', 'disable', 'push', 'upgrade', 'set']) r.post(`/plugins/{name:.*}/${action}`, missing);
}
