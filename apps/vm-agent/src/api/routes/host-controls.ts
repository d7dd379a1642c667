/**
 * Berth's own call, not Docker's: which of the host's ports nothing inside
 * the VM may dial (network/host-controls.ts). `berth web` adds its
 * dashboard's port when it starts and removes it when it stops.
 *
 *   GET    /berth/host-controls          {"Gateway": "10.0.2.2", "Ports": [2222, 4000]}
 *   PUT    /berth/host-controls/{port}   204: refused from now on
 *   DELETE /berth/host-controls/{port}   204: let through again (403 for the VM's own ports)
 *
 * Whoever may call this already holds the Docker API, which is root in the
 * VM; it gives nothing more.
 */
import { notFound } from '../../errors.js';
import { type HostControls, parsePort } from '../../network/host-controls.js';
import { sendJson, sendNoContent } from '../http-io.js';
import type { Router } from '../router.js';

export function hostControlRoutes(r: Router, controls: HostControls | undefined): void {
  const need = (): HostControls => {
    if (!controls) throw notFound('this engine has no host gateway (it is not running in the Berth VM): there are no host controls to guard');
    return controls;
  };
  r.get('/berth/host-controls', async ({ res }) => {
    const c = need();
    sendJson(res, 200, { Gateway: c.gateway, Ports: await c.ports() });
  });
  r.put('/berth/host-controls/{port}', async ({ res, params }) => {
    await need().add(parsePort(params.port!, 'the port'));
    sendNoContent(res);
  });
  r.delete('/berth/host-controls/{port}', async ({ res, params }) => {
    await need().remove(parsePort(params.port!, 'the port'));
    sendNoContent(res);
  });
}
