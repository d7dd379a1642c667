import { lazy, Suspense, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { keys, useClient, useContainerInspect, useEngineRunning } from '../api/hooks.js';
import { actionsFor, runContainerAction, stateLabel, type ContainerAction } from '../api/container-actions.js';
import { messageOf } from '../api/errors.js';
import { Notice } from '../components/Notice.js';
import { InspectView } from '../components/detail/InspectView.js';
import { LogsView } from '../components/detail/LogsView.js';
import { StatsView } from '../components/detail/StatsView.js';
import { FilesView } from '../components/detail/FilesView.js';
import { useT } from '../i18n/i18n.js';
import { shortId } from '../lib/format.js';

export const DETAIL_TABS = {
  logs: 'detail.tab.logs',
  inspect: 'detail.tab.inspect',
  exec: 'detail.tab.exec',
  stats: 'detail.tab.stats',
  files: 'detail.tab.files',
} as const;
export type DetailTab = keyof typeof DETAIL_TABS;

// xterm.js is most of the bundle: load it when a terminal is first opened.
const ExecTerminal = lazy(() => import('../components/detail/ExecTerminal.js').then((m) => ({ default: m.ExecTerminal })));

/** `#/containers/ID/TAB`: one container's logs, inspect JSON, a shell, its stats and its files. Only the open tab holds a stream. */
export function ContainerDetailPage({ id, tab }: { id: string; tab: DetailTab }) {
  const { t } = useT();
  const inspect = useContainerInspect(id);
  const running = useEngineRunning();
  const client = useClient();
  const qc = useQueryClient();
  const [busy, setBusy] = useState<ContainerAction>();
  const [error, setError] = useState<string>();
  const c = inspect.data;
  const name = c ? c.Name.replace(/^\//, '') : shortId(id);

  const act = async (action: ContainerAction) => {
    if (action === 'delete' && !window.confirm(t(c?.State.Running ? 'detail.deleteRunning' : 'detail.delete', { name }))) return;
    setBusy(action);
    setError(undefined);
    try {
      await runContainerAction(client, id, action);
      if (action === 'delete') window.location.hash = '#/containers';
    } catch (err) {
      setError(`${t(`action.${action}`)} ${name}: ${messageOf(err)}`);
    } finally {
      setBusy(undefined);
      void qc.invalidateQueries({ queryKey: keys.containers });
    }
  };

  const state = c?.State.Status;
  return (
    <section className="page detail" aria-labelledby="detail-title">
      <header className="page-header">
        <div>
          <a className="back-link" href="#/containers">
            ← {t('page.containers')}
          </a>
          <h1 id="detail-title">
            {name} {state && <span className={`badge ${state}`}>{busy ? `${t(`action.${busy}`)}…` : stateLabel(t, state)}</span>}
          </h1>
          {c && (
            <p className="subtitle mono">
              {shortId(c.Id)} · {c.Config.Image}
            </p>
          )}
        </div>
        {state && (
          <div className="toolbar">
            {actionsFor(state).map((a) => (
              <button key={a} className={`btn${a === 'delete' ? ' danger' : a === 'start' ? ' primary' : ''}`} disabled={!!busy} onClick={() => void act(a)}>
                {t(`action.${a}`)}
              </button>
            ))}
          </div>
        )}
      </header>
      {error && (
        <Notice kind="error" onClose={() => setError(undefined)}>
          {error}
        </Notice>
      )}
      {!running ? (
        <div className="empty-state">{t('detail.engineDown')}</div>
      ) : inspect.isLoading ? (
        <div className="empty-state">{t('common.loading')}</div>
      ) : inspect.error || !c ? (
        <div className="empty-state error">{messageOf(inspect.error)}</div>
      ) : (
        <>
          <nav className="tabs" role="tablist" aria-label={t('detail.views')}>
            {(Object.keys(DETAIL_TABS) as DetailTab[]).map((tabName) => (
              <a key={tabName} role="tab" aria-selected={tabName === tab} className={tabName === tab ? 'active' : ''} href={`#/containers/${id}/${tabName}`}>
                {t(DETAIL_TABS[tabName])}
              </a>
            ))}
          </nav>
          <div className="card tab-panel" role="tabpanel">
            {tab === 'logs' && <LogsView id={c.Id} tty={c.Config.Tty} startedAt={c.State.StartedAt} />}
            {tab === 'inspect' && <InspectView data={c} />}
            {tab === 'exec' &&
              (c.State.Running && !c.State.Paused ? (
                <Suspense fallback={<div className="empty-state">{t('detail.loadingTerminal')}</div>}>
                  <ExecTerminal key={c.State.StartedAt} id={c.Id} shell="sh" />
                </Suspense>
              ) : (
                <div className="empty-state">{t('detail.startForShell', { state: state ?? '' })}</div>
              ))}
            {tab === 'stats' && <StatsView id={c.Id} running={c.State.Running && !c.State.Paused} />}
            {tab === 'files' && <FilesView key={c.Id} id={c.Id} />}
          </div>
        </>
      )}
    </section>
  );
}
