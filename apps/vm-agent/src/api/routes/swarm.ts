/**
 * Swarm mode's endpoints (swarm, services, nodes, tasks, secrets, configs),
 * answered as a dockerd that is not part of a swarm answers them. Berth runs
 * no swarm; what matters is that clients can tell: docker-py, the CLI
 * (`docker service ls`, `docker node ls`) and stack tools read a 503 with
 * these words as "not a swarm" and carry on or stop cleanly, where a 404
 * "page not found" reads as a broken engine. The words are dockerd's
 * (daemon/cluster: errNoManager for a node with no swarm, errNoSwarm for
 * leave), which clients match on.
 *
 * Initialising or joining a swarm would make this engine a manager or worker:
 * that is refused (501) with what to do instead.
 */
import { notImplemented, unavailable } from '../../errors.js';
import type { Router } from '../router.js';

export const NOT_A_SWARM_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const NOT_IN_A_SWARM = 'This node is not part of a swarm';

/** Every path dockerd answers with errNoManager when it is in no swarm. */
const MANAGER_ONLY: [method: string, path: string][] = [
  ['GET', '/swarm'],
  ['GET', '/swarm/unlockkey'],
  ['POST', '/swarm/update'],
  ['POST', '/swarm/unlock'],
  ['GET', '/services'],
  ['POST', '/services/create'],
  ['GET', '/services/{id}'],
  ['POST', '/services/{id}/update'],
  ['DELETE', '/services/{id}'],
  ['GET', '/services/{id}/logs'],
  ['GET', '/nodes'],
  ['GET', '/nodes/{id}'],
  ['DELETE', '/nodes/{id}'],
  ['POST', '/nodes/{id}/update'],
  ['GET', '/tasks'],
  ['GET', '/tasks/{id}'],
  ['GET', '/tasks/{id}/logs'],
  ['GET', '/secrets'],
  ['POST', '/secrets/create'],
  ['GET', '/secrets/{id}'],
  ['POST', '/secrets/{id}/update'],
  ['DELETE', '/secrets/{id}'],
  ['GET', '/configs'],
  ['POST', '/configs/create'],
  ['GET', '/configs/{id}'],
  ['POST', '/configs/{id}/update'],
  ['DELETE', '/configs/{id}'],
];

const NO_SWARM_MODE =
  'Berth does not run swarm mode: this engine cannot initialize or join a swarm. ' +
  'Run multi-container apps here with docker compose, or use a Docker Engine in swarm mode for services.';

export function swarmRoutes(r: Router): void {
  for (const [method, path] of MANAGER_ONLY) {
    r.add(method, path, () => {
      throw unavailable(NOT_A_SWARM_MANAGER);
    });
  }
  r.post('/swarm/leave', () => {
    throw unavailable(NOT_IN_A_SWARM);
  });
  for (const path of ['/swarm/init', '/swarm/join']) {
    r.post(path, () => {
      throw notImplemented(NO_SWARM_MODE);
    });
  }
}
