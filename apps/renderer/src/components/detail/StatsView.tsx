import { useEffect, useState } from 'react';
import { useClient } from '../../api/hooks.js';
import { ApiError } from '../../api/client.js';
import { isUnsupported } from '../../api/errors.js';
import { formatSize } from '../../lib/format.js';
import { sampleOf, type StatsJson, type StatsSample } from '../../lib/stats.js';
import { Notice } from '../Notice.js';
import { useT } from '../../i18n/i18n.js';
import { Sparkline } from './Sparkline.js';

/** Samples kept: about a minute at the engine's one per second. */
const KEEP = 60;

/** CPU and memory of a running container from `GET /containers/{id}/stats?stream=1`. */
export function StatsView({ id, running }: { id: string; running: boolean }) {
  const { t } = useT();
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

  if (error && isUnsupported(error)) return <div className="empty-state">{t('detail.stats.unsupported')}</div>;
  if (!running) return <div className="empty-state">{t('detail.stats.start')}</div>;
  const last = samples.at(-1);
  return (
    <div className="stats-view">
      {error && <Notice kind="error">{error.message}</Notice>}
      <Sparkline
        label={t('detail.stats.cpu')}
        testId="cpu"
        values={samples.map((s) => s.cpuPercent)}
        floor={5}
        current={last ? `${last.cpuPercent.toFixed(1)} %` : '…'}
      />
      <Sparkline
        label={t('detail.stats.memory')}
        testId="memory"
        values={samples.map((s) => s.memoryBytes)}
        floor={16 * 1024 * 1024}
        current={
          last
            ? last.memoryLimit
              ? t('detail.stats.memoryOf', { used: formatSize(last.memoryBytes), limit: formatSize(last.memoryLimit) })
              : formatSize(last.memoryBytes)
            : '…'
        }
      />
    </div>
  );
}
