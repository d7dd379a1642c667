import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useClient, keys } from '../api/hooks.js';
import type { ContainerCreateResponse } from '@berth/api';
import { createBody, dockerRunLine, type RestartPolicy, type RunSpec } from '../lib/docker-run.js';
import { useT } from '../i18n/i18n.js';
import { Notice } from './Notice.js';

const lines = (s: string) => s.split(/[\n,]/);

/** Creates and starts a container from an image; shows the equivalent `docker run` line as you type. */
export function RunDialog({ image, onClose }: { image: string; onClose: () => void }) {
  const { t } = useT();
  const client = useClient();
  const qc = useQueryClient();
  const dialog = useRef<HTMLDialogElement>(null);
  const [name, setName] = useState('');
  const [ports, setPorts] = useState('');
  const [env, setEnv] = useState('');
  const [volumes, setVolumes] = useState('');
  const [restart, setRestart] = useState<RestartPolicy>('no');
  const [command, setCommand] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => dialog.current?.showModal(), []);

  const spec: RunSpec = { image, name, ports: lines(ports), env: env.split('\n'), volumes: lines(volumes), restart, command };
  const line = dockerRunLine(spec);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const body = createBody(spec);
      const q = name.trim() ? `?name=${encodeURIComponent(name.trim())}` : '';
      const created = await client.docker<ContainerCreateResponse>('POST', `/containers/create${q}`, body);
      await client.docker('POST', `/containers/${created.Id}/start`);
      void qc.invalidateQueries({ queryKey: keys.containers });
      onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} className="dialog" onClose={onClose} aria-labelledby="run-title">
      <form onSubmit={submit}>
        <h2 id="run-title">
          {t('run.title')} <code>{image}</code>
        </h2>
        <div className="form-grid">
          <label>
            {t('run.name')}
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder={t('run.namePlaceholder')} autoFocus />
          </label>
          <label>
            {t('run.restart')}
            <select value={restart} onChange={(e) => setRestart(e.target.value as RestartPolicy)}>
              <option value="no">no</option>
              <option value="always">always</option>
              <option value="unless-stopped">unless-stopped</option>
              <option value="on-failure">on-failure</option>
            </select>
          </label>
          <label>
            {t('run.ports')} <span className="hint">{t('run.portsHint')}</span>
            <input value={ports} onChange={(e) => setPorts(e.target.value)} placeholder="8080:80" />
          </label>
          <label>
            {t('run.volumes')} <span className="hint">{t('run.volumesHint')}</span>
            <input value={volumes} onChange={(e) => setVolumes(e.target.value)} placeholder="/srv/data:/data" />
          </label>
          <label className="wide">
            {t('run.env')} <span className="hint">{t('run.envHint')}</span>
            <textarea rows={2} value={env} onChange={(e) => setEnv(e.target.value)} />
          </label>
          <label className="wide">
            {t('run.command')} <span className="hint">{t('run.commandHint')}</span>
            <input value={command} onChange={(e) => setCommand(e.target.value)} placeholder="sh -c 'echo hello'" />
          </label>
        </div>
        <div className="run-line">
          <span className="hint">{t('run.equivalent')}</span>
          <code data-testid="docker-run-line">{line}</code>
        </div>
        {error && <Notice kind="error">{error}</Notice>}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={() => dialog.current?.close()}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="btn primary" disabled={busy}>
            {busy ? t('run.starting') : t('run.submit')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
