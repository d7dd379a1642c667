import { useEffect, useState } from 'react';
import { useT } from '../i18n/i18n.js';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { BuildRecord } from '../../../main/src/shared/berth-api.js';
import { keys, useClient, useEngineRunning } from '../api/hooks.js';
import { messageOf } from '../api/errors.js';
import { BuildDialog } from '../components/BuildDialog.js';
import { Notice } from '../components/Notice.js';
import { timeAgo } from '../lib/format.js';

function duration(b: BuildRecord, now: number): string {
  const s = Math.max(0, ((b.endedAt ?? now) - b.startedAt) / 1000);
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/**
 * Builds made through the dashboard (main keeps them for the session), the
 * selected one's log, and the Build dialog. A running build's log streams in
 * as the engine writes it; the list comes from main when the build ends.
 */
export function BuildsPage() {
  const { t } = useT();
  const client = useClient();
  const qc = useQueryClient();
  const running = useEngineRunning();
  const builds = useQuery({ queryKey: keys.builds, queryFn: () => client.call('builds') });
  const [live, setLive] = useState<BuildRecord>();
  const [selected, setSelected] = useState<string>();
  const [dialog, setDialog] = useState(false);
  const [error, setError] = useState<string>();
  const [now, setNow] = useState(Date.now());

  // The duration of a running build ticks; nothing else is polled.
  useEffect(() => {
    if (live?.status !== 'running') return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [live?.status]);

  const start = (context: string, tag: string) => {
    setError(undefined);
    let rec: BuildRecord | undefined;
    client.stream('build', [{ context, tag }], {
      item: (m) => {
        if ('record' in m) rec = m.record;
        else if (rec) rec = { ...rec, log: rec.log + m.log };
        if (rec) {
          setLive(rec);
          setSelected(rec.id);
        }
      },
      error: (err) => {
        setError(`Build ${tag}: ${messageOf(err)}`);
        void qc.invalidateQueries({ queryKey: keys.builds });
      },
      end: () => {
        void qc.invalidateQueries({ queryKey: keys.builds });
        void qc.invalidateQueries({ queryKey: keys.images });
      },
    });
  };

  const list = (builds.data ?? []).map((b) => (live && b.id === live.id ? live : b));
  if (live && !list.some((b) => b.id === live.id)) list.unshift(live);
  const shown = list.find((b) => b.id === selected) ?? list[0];

  return (
    <section className="page" aria-labelledby="builds-title">
      <header className="page-header">
        <div>
          <h1 id="builds-title">{t('page.builds')}</h1>
          <p className="subtitle">{list.length ? t(list.length === 1 ? 'builds.subtitleOne' : 'builds.subtitleMany', { count: list.length }) : t('builds.subtitleEmpty')}</p>
        </div>
        <button className="btn primary" onClick={() => setDialog(true)} disabled={!running}>
          Build…
        </button>
      </header>
      {error && (
        <Notice kind="error" onClose={() => setError(undefined)}>
          {error}
        </Notice>
      )}
      <div className="card">
        <table className="table" aria-label="Builds">
          <thead>
            <tr>
              <th>Tag</th>
              <th>Status</th>
              <th>Folder</th>
              <th>Started</th>
              <th className="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {list.map((b) => (
              <tr key={b.id} data-tag={b.tag} aria-selected={b.id === shown?.id} onClick={() => setSelected(b.id)}>
                <td className="strong mono">{b.tag}</td>
                <td>
                  <span className={`badge state-${b.status === 'succeeded' ? 'running' : b.status === 'failed' ? 'dead' : 'created'}`} data-testid="build-status">
                    {b.status}
                  </span>
                </td>
                <td className="mono small">{b.context}</td>
                <td>{timeAgo(b.startedAt / 1000)}</td>
                <td className="num">{duration(b, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!list.length && <div className="table-state">{builds.isLoading ? 'Loading…' : 'No builds yet. Build an image from a folder with a Dockerfile.'}</div>}
      </div>
      {shown && (
        <div className="card tab-panel">
          <h2 className="small">
            Log of {shown.tag} {shown.error && <span className="status-error">— {shown.error}</span>}
          </h2>
          <pre className="logs" data-testid="build-log">
            {shown.log || 'No output yet.'}
          </pre>
        </div>
      )}
      {dialog && <BuildDialog canPick={!!window.berth} pick={() => client.call('pickFolder')} onBuild={start} onClose={() => setDialog(false)} />}
    </section>
  );
}
