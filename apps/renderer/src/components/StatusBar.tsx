import { useState } from 'react';
import { useClient, useEngineState } from '../api/hooks.js';
import { useT } from '../i18n/i18n.js';

/** The engine's state at the bottom of every page: a coloured dot, one sentence, and Restart when it failed. */
export function StatusBar({ eventsConnected }: { eventsConnected: boolean }) {
  const state = useEngineState();
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const { t } = useT();
  const [error, setError] = useState<string>();
  const name = state?.state ?? 'starting';
  const restart = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await client.call('restartEngine');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <footer className={`status-bar status-${name}`} role="status" aria-live="polite" data-testid="engine-status" data-state={name}>
      <span className="dot" aria-hidden="true" />
      <strong className="status-name">{t('status.engine', { state: state ? t(`state.${name}` as const) : t('status.connecting') })}</strong>
      <span className="status-message">{state?.message ?? t('status.waiting')}</span>
      {state?.state === 'running' && !eventsConnected && <span className="status-note">{t('status.reconnecting')}</span>}
      {error && <span className="status-error">{error}</span>}
      {state && state.state !== 'running' && state.state !== 'starting' && state.canRestart && (
        <button className="btn small" onClick={restart} disabled={busy}>
          {busy ? t('status.restarting') : state.mode === 'socket' ? t('status.retry') : t('status.restart')}
        </button>
      )}
      {state?.logTail?.length ? (
        <details className="status-log">
          <summary>{t('status.lastOutput')}</summary>
          <pre>{state.logTail.join('\n')}</pre>
        </details>
      ) : null}
    </footer>
  );
}
