import { useEffect, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useClient, useEngineRunning, useEngineState } from '../api/hooks.js';
import { messageOf } from '../api/errors.js';
import { CopyButton } from '../components/CopyButton.js';
import { Notice } from '../components/Notice.js';
import { useT } from '../i18n/i18n.js';
import type { HostLog, ResetPlan } from '@berth/api';

interface Version {
  Version?: string;
  ApiVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
}

/** The engine's state and last output, a restart, and diagnostics to paste into a bug report. */
const LOG_LINES = 200;

export function TroubleshootPage() {
  const state = useEngineState();
  const running = useEngineRunning();
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const [plan, setPlan] = useState<ResetPlan>();
  const { t } = useT();
  const logs = useQuery({
    queryKey: ['troubleshoot', 'logs'],
    queryFn: () => client.call('hostLogs', LOG_LINES),
    retry: false,
  });
  const askReset = async () => {
    setError(undefined);
    setDone(undefined);
    try {
      setPlan(await client.call('resetPlan'));
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const reset = async () => {
    setBusy(true);
    try {
      const deleted = await client.call('factoryReset');
      setDone(t('trouble.resetDone', { count: deleted.length }));
      void logs.refetch();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
      setPlan(undefined);
    }
  };
  const version = useQuery({
    queryKey: ['troubleshoot', 'version'],
    queryFn: () => client.docker<Version>('GET', '/version'),
    enabled: running,
    retry: false,
  });

  const restart = async () => {
    if (!window.confirm(t('trouble.restartConfirm'))) return;
    setBusy(true);
    setError(undefined);
    try {
      await client.call('restartEngine');
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const diagnostics = JSON.stringify(
    { engine: state, version: version.data ?? messageOf(version.error ?? 'not fetched'), userAgent: navigator.userAgent, at: new Date().toISOString() },
    null,
    2,
  );
  return (
    <section className="page" aria-labelledby="troubleshoot-title">
      <header className="page-header">
        <div>
          <h1 id="troubleshoot-title">{t('page.troubleshoot')}</h1>
          <p className="subtitle">{t('trouble.subtitle')}</p>
        </div>
        <div className="toolbar">
          <CopyButton text={diagnostics} label={t('trouble.copyDiagnostics')} />
          <button
            className="btn danger"
            onClick={() => void restart()}
            disabled={busy || !state?.canRestart}
            title={state?.canRestart ? undefined : t('trouble.notManaged')}
          >
            {t('trouble.restart')}
          </button>
        </div>
      </header>
      {error && <Notice kind="error">{error}</Notice>}
      {done && <Notice kind="info">{done}</Notice>}
      <div className="card facts">
        <dl>
          <dt>{t('trouble.state')}</dt>
          <dd data-testid="troubleshoot-state">
            <span className={`dot status-${state?.state ?? 'starting'}`} aria-hidden="true" />{' '}
            {state ? t(`state.${state.state}` as const) : t('status.connecting')}
          </dd>
          <dt>{t('trouble.engine')}</dt>
          <dd>{state ? t(`trouble.mode.${state.mode}` as const) : '—'}</dd>
          <dt>{t('trouble.message')}</dt>
          <dd>{state?.message ?? '—'}</dd>
          <dt>{t('trouble.dockerCli')}</dt>
          <dd>{state?.socket ? <code>export DOCKER_HOST=unix://{state.socket}</code> : '—'}</dd>
          <dt>{t('trouble.version')}</dt>
          <dd>
            {version.data
              ? t('trouble.versionLine', {
                  version: version.data.Version ?? '?',
                  api: version.data.ApiVersion ?? '?',
                  os: version.data.Os ?? '?',
                  arch: version.data.Arch ?? '?',
                  kernel: version.data.KernelVersion ?? '?',
                })
              : running
                ? '…'
                : '—'}
          </dd>
        </dl>
      </div>
      <div className="card trouble-log">
        <h2 className="card-title">{t('trouble.lastOutput')}</h2>
        {state?.logTail?.length ? <pre className="json">{state.logTail.join('\n')}</pre> : <p className="dim">{t('trouble.noOutput')}</p>}
      </div>
      <div className="card trouble-logs" aria-labelledby="logs-title">
        <div className="page-header">
          <div>
            <h2 className="card-title" id="logs-title">
              {t('trouble.logs')}
            </h2>
            <p className="subtitle">{t('trouble.logsHint', { lines: LOG_LINES })}</p>
          </div>
          <button type="button" className="btn small" onClick={() => void logs.refetch()} disabled={logs.isFetching}>
            {logs.isFetching ? t('trouble.refreshing') : t('trouble.refresh')}
          </button>
        </div>
        {logs.error && <Notice kind="error">{messageOf(logs.error)}</Notice>}
        {logs.data?.map((log) => (
          <LogFile key={log.path} log={log} />
        ))}
      </div>
      <div className="card">
        <h2 className="card-title">{t('trouble.reset')}</h2>
        <p className="dim">{t('trouble.resetHint', { home: plan?.home ?? '$BERTH_HOME' })}</p>
        <button type="button" className="btn danger" onClick={() => void askReset()} disabled={busy}>
          {busy && !plan ? t('trouble.resetting') : t('trouble.reset')}…
        </button>
      </div>
      {plan && <ResetDialog plan={plan} busy={busy} onConfirm={() => void reset()} onClose={() => setPlan(undefined)} />}
    </section>
  );
}

function LogFile({ log }: { log: HostLog }) {
  const { t } = useT();
  return (
    <section className="log-file" aria-label={log.name}>
      <h3>
        {log.name} <span className="dim mono">{log.path}</span>
      </h3>
      {!log.exists ? (
        <p className="dim">{t('trouble.logMissing', { path: log.path })}</p>
      ) : log.lines.length ? (
        <pre className="json" tabIndex={0}>
          {log.lines.join('\n')}
        </pre>
      ) : (
        <p className="dim">{t('trouble.logEmpty')}</p>
      )}
    </section>
  );
}

/** The confirmation: a modal <dialog> (focus stays inside, Escape cancels) listing exactly what goes. */
export function ResetDialog({ plan, busy, onConfirm, onClose }: { plan: ResetPlan; busy: boolean; onConfirm: () => void; onClose: () => void }) {
  const { t } = useT();
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => dialog.current?.showModal(), []);
  return (
    <dialog ref={dialog} className="dialog" onClose={onClose} aria-labelledby="reset-title">
      <h2 id="reset-title">{t('trouble.resetTitle')}</h2>
      {plan.entries.length ? (
        <>
          <p>{t('trouble.resetWill')}</p>
          <ul className="reset-list" data-testid="reset-list">
            {plan.entries.map((e) => (
              <li key={e.path}>
                <code>{e.path}</code> — {e.what}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p>{t('trouble.resetNothing', { home: plan.home })}</p>
      )}
      <p className="dim">{t('trouble.resetKeeps', { home: plan.home })}</p>
      <div className="dialog-actions">
        <button type="button" className="btn" autoFocus onClick={() => dialog.current?.close()} disabled={busy}>
          {t('common.cancel')}
        </button>
        <button type="button" className="btn danger" onClick={onConfirm} disabled={busy || !plan.entries.length}>
          {busy ? t('trouble.resetting') : t('trouble.resetConfirm')}
        </button>
      </div>
    </dialog>
  );
}
