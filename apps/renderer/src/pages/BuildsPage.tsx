import { useEffect, useRef, useState } from 'react';
import { useT, type T } from '../i18n/i18n.js';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { BuildItem, BuildRecord } from '@berth/api';
import { keys, useClient, useEngineRunning } from '../api/hooks.js';
import { messageOf } from '../api/errors.js';
import { BuildDialog } from '../components/BuildDialog.js';
import { Notice } from '../components/Notice.js';
import { timeAgo } from '../lib/format.js';

function duration(b: BuildRecord, now: number): string {
  const s = Math.max(0, ((b.endedAt ?? now) - b.startedAt) / 1000);
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function statusLabel(t: T, status: BuildRecord['status']): string {
  return t(status === 'running' ? 'builds.running' : status === 'succeeded' ? 'builds.succeeded' : 'builds.failed');
}

/**
 * Builds made through the dashboard (main runs them and keeps their records
 * across restarts), the selected one's log, and the Build dialog. A running
 * build's log streams in as the engine writes it; leaving the page only stops
 * following (the build goes on in main), and coming back follows it again.
 */
export function BuildsPage() {
  const { t } = useT();
  const client = useClient();
  const qc = useQueryClient();
  const running = useEngineRunning();
  const builds = useQuery({ queryKey: keys.builds, queryFn: () => client.call('builds') });
  const [live, setLive] = useState<Record<string, BuildRecord>>({});
  const [selected, setSelected] = useState<string>();
  const [dialog, setDialog] = useState(false);
  const [error, setError] = useState<string>();
  const [now, setNow] = useState(Date.now());
  /** The streams this page follows, by build id; cancelled when the page goes (the builds do not stop). */
  const following = useRef(new Map<string, () => void>());
  useEffect(() => {
    const map = following.current;
    return () => {
      for (const cancel of map.values()) cancel();
      map.clear();
    };
  }, []);

  /** Handlers that keep `live` in step with one build's stream. */
  const track = (onFirst?: (rec: BuildRecord) => void) => {
    let rec: BuildRecord | undefined;
    return {
      item: (m: BuildItem) => {
        if ('record' in m) {
          if (!rec) onFirst?.(m.record);
          rec = m.record;
        } else if (rec) rec = { ...rec, log: rec.log + m.log };
        if (rec) {
          const r = rec;
          setLive((all) => ({ ...all, [r.id]: r }));
        }
      },
      error: (err: Error) => {
        setError(rec ? `${t('builds.build')} ${rec.tag}: ${messageOf(err)}` : messageOf(err));
        void qc.invalidateQueries({ queryKey: keys.builds });
      },
      end: () => {
        if (rec) following.current.delete(rec.id);
        void qc.invalidateQueries({ queryKey: keys.builds });
        void qc.invalidateQueries({ queryKey: keys.images });
      },
    };
  };

  // Builds still running when the page opens (started here earlier, or before a reload): follow them again.
  useEffect(() => {
    for (const b of builds.data ?? []) {
      if (b.status !== 'running' || following.current.has(b.id)) continue;
      following.current.set(b.id, client.stream('followBuild', [b.id], track()));
    }
    // track() is recreated each render; the streams it feeds are keyed by id.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [builds.data, client]);

  const start = (context: string, tag: string) => {
    setError(undefined);
    // The first record arrives after stream() has returned (both bridges answer asynchronously).
    const cancel = client.stream(
      'build',
      [{ context, tag }],
      track((rec) => {
        following.current.set(rec.id, cancel);
        setSelected(rec.id);
      }),
    );
  };

  const cancelBuild = async (id: string) => {
    try {
      await client.call('cancelBuild', id);
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const list = (builds.data ?? []).map((b) => live[b.id] ?? b);
  for (const r of Object.values(live)) if (!list.some((b) => b.id === r.id)) list.unshift(r);
  list.sort((a, b) => b.startedAt - a.startedAt);
  const shown = list.find((b) => b.id === selected) ?? list[0];
  const anyRunning = list.some((b) => b.status === 'running');

  // The duration of a running build ticks; nothing else is polled.
  useEffect(() => {
    if (!anyRunning) return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [anyRunning]);

  return (
    <section className="page" aria-labelledby="builds-title">
      <header className="page-header">
        <div>
          <h1 id="builds-title">{t('page.builds')}</h1>
          <p className="subtitle">
            {list.length ? t(list.length === 1 ? 'builds.subtitleOne' : 'builds.subtitleMany', { count: list.length }) : t('builds.subtitleEmpty')}
          </p>
        </div>
        <button className="btn primary" onClick={() => setDialog(true)} disabled={!running}>
          {t('builds.buildButton')}
        </button>
      </header>
      {error && (
        <Notice kind="error" onClose={() => setError(undefined)}>
          {error}
        </Notice>
      )}
      <div className="card">
        <table className="table" aria-label={t('page.builds')}>
          <thead>
            <tr>
              <th>{t('builds.tag')}</th>
              <th>{t('builds.status')}</th>
              <th>{t('builds.folder')}</th>
              <th>{t('builds.started')}</th>
              <th className="num">{t('builds.duration')}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((b) => (
              <tr
                key={b.id}
                data-tag={b.tag}
                aria-selected={b.id === shown?.id}
                tabIndex={0}
                onClick={() => setSelected(b.id)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    setSelected(b.id);
                  }
                }}
              >
                <td className="strong mono">{b.tag}</td>
                <td>
                  <span
                    className={`badge state-${b.status === 'succeeded' ? 'running' : b.status === 'failed' ? 'dead' : 'created'}`}
                    data-testid="build-status"
                    data-status={b.status}
                  >
                    {statusLabel(t, b.status)}
                  </span>
                </td>
                <td className="mono small">{b.context}</td>
                <td>{timeAgo(b.startedAt / 1000)}</td>
                <td className="num">{duration(b, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!list.length && <div className="table-state">{builds.isLoading ? t('common.loading') : t('builds.none')}</div>}
      </div>
      {shown && (
        <div className="card tab-panel">
          <div className="logs-toolbar">
            <h2 className="small">
              {t('builds.logOf', { tag: shown.tag })} {shown.error && <span className="status-error">— {shown.error}</span>}
            </h2>
            {shown.status === 'running' && (
              <button className="btn danger" onClick={() => void cancelBuild(shown.id)}>
                {t('builds.cancel')}
              </button>
            )}
          </div>
          <pre className="logs" data-testid="build-log" tabIndex={0}>
            {shown.log || t('builds.noOutput')}
          </pre>
        </div>
      )}
      {dialog && <BuildDialog canPick={!!window.berth} pick={() => client.call('pickFolder')} onBuild={start} onClose={() => setDialog(false)} />}
    </section>
  );
}
