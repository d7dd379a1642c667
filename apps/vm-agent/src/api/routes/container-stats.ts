/**
 * GET /containers/{id}/stats: a sample per second while `stream` (the
 * default), or one: with `one-shot` at once (no precpu_stats), otherwise
 * after a second so CPU use can be computed, as dockerd does for
 * `docker stats --no-stream`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { statsSample, type StatsSample } from '../../engine/container-stats.js';
import type { ContainerService } from '../../engine/containers.js';
import { queryBool } from '../http-io.js';
import type { Router } from '../router.js';

const INTERVAL_MS = 1000;

export function containerStatsRoutes(r: Router, svc: ContainerService): void {
  r.get('/containers/{id}/stats', async ({ req, res, params, query }) => {
    const rec = svc.get(params.id!);
    const stream = query.get('stream') === null ? true : queryBool(query, 'stream');
    const oneShot = queryBool(query, 'one-shot');
    const sample = (prev?: StatsSample) => statsSample(rec, svc.liveState(rec).cgroup, prev);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (!stream) {
      let s = sample();
      if (!oneShot && svc.liveState(rec).cgroup) {
        await sleep(INTERVAL_MS);
        s = sample(s);
      }
      res.end(JSON.stringify(s) + '\n');
      return;
    }
    let closed = false;
    req.once('close', () => (closed = true));
    res.flushHeaders();
    let prev: StatsSample | undefined;
    while (!closed && !res.writableEnded) {
      prev = sample(prev);
      res.write(JSON.stringify(prev) + '\n');
      await sleep(INTERVAL_MS);
    }
    res.end();
  });
}
