import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useClient, useEngineRunning, useEngineState } from '../api/hooks.js';
import { messageOf } from '../api/errors.js';
import { CopyButton } from '../components/CopyButton.js';
import { Notice } from '../components/Notice.js';

interface Version {
  Version?: string;
  ApiVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
}

/** The engine's state and last output, a restart, and diagnostics to paste into a bug report. */
export function TroubleshootPage() {
  const state = useEngineState();
  const running = useEngineRunning();
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const version = useQuery({
    queryKey: ['troubleshoot', 'version'],
    queryFn: () => client.docker<Version>('GET', '/version'),
    enabled: running,
    retry: false,
  });

  const restart = async () => {
    if (!window.confirm('Restart the engine? Running containers stop, and those with a restart policy come back.')) return;
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

  const diagnostics = JSON.stringify({ engine: state, version: version.data ?? messageOf(version.error ?? 'not fetched'), userAgent: navigator.userAgent, at: new Date().toISOString() }, null, 2);
  return (
    <section className="page" aria-labelledby="troubleshoot-title">
      <header className="page-header">
        <div>
          <h1 id="troubleshoot-title">Troubleshoot</h1>
          <p className="subtitle">What the engine is doing, and what to try when it is not.</p>
        </div>
        <div className="toolbar">
          <CopyButton text={diagnostics} label="Copy diagnostics" />
          <button className="btn danger" onClick={() => void restart()} disabled={busy || !state?.canRestart} title={state?.canRestart ? undefined : 'This engine is not managed by the dashboard'}>
            {busy ? 'Restarting…' : 'Restart engine'}
          </button>
        </div>
      </header>
      {error && <Notice kind="error">{error}</Notice>}
      <div className="card facts">
        <dl>
          <dt>State</dt>
          <dd data-testid="troubleshoot-state">
            <span className={`dot status-${state?.state ?? 'starting'}`} aria-hidden="true" /> {state?.state ?? 'connecting'}
          </dd>
          <dt>Engine</dt>
          <dd>{state ? { vm: 'Virtual machine', native: 'Native (this Linux host)', socket: 'An existing socket', none: 'None' }[state.mode] : '—'}</dd>
          <dt>Message</dt>
          <dd>{state?.message ?? '—'}</dd>
          <dt>Docker CLI</dt>
          <dd>{state?.socket ? <code>export DOCKER_HOST=unix://{state.socket}</code> : '—'}</dd>
          <dt>Version</dt>
          <dd>{version.data ? `${version.data.Version ?? '?'} (API ${version.data.ApiVersion ?? '?'}, ${version.data.Os ?? '?'}/${version.data.Arch ?? '?'}, kernel ${version.data.KernelVersion ?? '?'})` : running ? '…' : '—'}</dd>
        </dl>
      </div>
      <div className="card trouble-log">
        <h2 className="card-title">Last engine output</h2>
        {state?.logTail?.length ? <pre className="json">{state.logTail.join('\n')}</pre> : <p className="dim">Nothing to show: the engine reports its output here when it fails.</p>}
      </div>
    </section>
  );
}
