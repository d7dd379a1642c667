import { useEffect, useState } from 'react';
import { useClient } from '../../api/hooks.js';
import { ApiError } from '../../api/client.js';
import { isUnsupported } from '../../api/errors.js';
import { formatSize } from '../../lib/format.js';
import { sampleOf, type StatsJson, type StatsSample } from '../../lib/stats.js';
import { Notice } from '../Notice.js';
import { Sparkline } from './Sparkline.js';

/** Samples kept: about a minute at the engine's one per second. */
const KEEP = 60;

/** CPU and memory of a running container from `GET /containers/{id}/stats?stream=1`. */
export function StatsView({ id, running }: { id: string; running: boolean }) {
  const client = useClient();
  const [samples, setSamples] = useState<StatsSample[]>([]);
  const [error, setError] = useState<ApiError>();

  useEffect(() => {
    setSamples([]);
    setError(undefined);
    if (!running) return;
    return client.stream('dockerJson', [{ method: 'GET', path: `/containers/${encodeURIComponent(id)}/stats?stream=1` }], {
      item: (s) => setSamples((old) => [...old.slice(-(KEEP - 1)), sampleOf(s as StatsJson)]),
      error: setError,
    });
  }, [client, id, running]);

  if (error && isUnsupported(error)) return <div className="empty-state">Live stats are not supported by this engine yet.</div>;
  if (!running) return <div className="empty-state">Start the container to see its CPU and memory.</div>;
  const last = samples.at(-1);
  return (
    <div className="stats-view">
      {error && <Notice kind="error">{error.message}</Notice>}
      <Sparkline label="CPU" values={samples.map((s) => s.cpuPercent)} floor={5} current={last ? `${last.cpuPercent.toFixed(1)} %` : '…'} />
      <Sparkline
        label="Memory"
        values={samples.map((s) => s.memoryBytes)}
        floor={16 * 1024 * 1024}
        current={last ? `${formatSize(last.memoryBytes)}${last.memoryLimit ? ` of ${formatSize(last.memoryLimit)}` : ''}` : '…'}
      />
    </div>
  );
}
