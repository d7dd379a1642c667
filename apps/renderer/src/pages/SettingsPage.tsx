import { useEffect, useState, type CSSProperties, type FormEvent } from 'react';
import { useT } from '../i18n/i18n.js';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { DashboardSettings } from '@berth/api';
import { useClient, useEngineState } from '../api/hooks.js';
import { messageOf } from '../api/errors.js';
import { Notice } from '../components/Notice.js';

const ACCELERATORS: DashboardSettings['accelerator'][] = ['auto', 'kvm', 'hvf', 'whpx', 'tcg'];
/** The fields sent back on save (the rest is read only). */
/** The form grid stacks a label's parts; a radio sits beside its text. */
const inline: CSSProperties = { display: 'inline-flex', flexDirection: 'row', alignItems: 'center', gap: 6, marginRight: 20 };
const group: CSSProperties = { border: '1px solid var(--border)', borderRadius: 8, padding: '10px 14px', margin: 0 };

const EDITABLE = ['cpus', 'memoryMiB', 'diskGiB', 'accelerator', 'fileShares', 'engineMode', 'startAtLogin'] as const;

/**
 * The VM's settings (settings.json, validated by main, which names a bad
 * field), file sharing, the engine mode and, in the desktop app, start at
 * login. Engine settings apply at the next engine start: after saving one,
 * the page says a restart is needed and offers it.
 */
export function SettingsPage() {
  const { t } = useT();
  const client = useClient();
  const qc = useQueryClient();
  const engine = useEngineState();
  const saved = useQuery({ queryKey: ['settings'], queryFn: () => client.call('settings') });
  const [form, setForm] = useState<DashboardSettings>();
  const [notice, setNotice] = useState<{ kind: 'error' | 'info'; text: string }>();
  const [restartNeeded, setRestartNeeded] = useState(false);
  const [restarting, setRestarting] = useState(false);
  const [newShare, setNewShare] = useState('');
  useEffect(() => {
    if (saved.data && !form) setForm(saved.data);
  }, [saved.data, form]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!form || !saved.data) return;
    // The last answer goes at once, so the next one shown is this save's.
    setNotice(undefined);
    const change: Partial<DashboardSettings> = {};
    for (const k of EDITABLE) {
      if (JSON.stringify(form[k]) !== JSON.stringify(saved.data[k])) Object.assign(change, { [k]: form[k] });
    }
    try {
      const next = await client.call('updateSettings', change);
      qc.setQueryData(['settings'], next);
      setForm(next);
      const engineChanged = Object.keys(change).some((k) => k !== 'startAtLogin');
      if (engineChanged) setRestartNeeded(true);
      setNotice({ kind: 'info', text: t('settings.saved') });
    } catch (err) {
      setNotice({ kind: 'error', text: messageOf(err) });
    }
  };

  const restart = async () => {
    setRestarting(true);
    try {
      await client.call('restartEngine');
      setRestartNeeded(false);
      setNotice({ kind: 'info', text: t('settings.restarted') });
    } catch (err) {
      setNotice({ kind: 'error', text: messageOf(err) });
    } finally {
      setRestarting(false);
    }
  };

  const addShare = (path: string) => {
    const p = path.trim();
    if (!form || !p) return;
    if (!p.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(p)) {
      setNotice({ kind: 'error', text: t('settings.shareAbsolute', { path: p }) });
      return;
    }
    setForm({ ...form, fileShares: [...form.fileShares, p] });
    setNewShare('');
  };
  const pick = async () => {
    try {
      const dir = await client.call('pickFolder');
      if (dir) addShare(dir);
    } catch (err) {
      setNotice({ kind: 'error', text: messageOf(err) });
    }
  };

  const num = (k: 'cpus' | 'memoryMiB' | 'diskGiB') => ({
    type: 'number',
    value: form?.[k] ?? '',
    onChange: (e: { target: { value: string } }) => setForm((f) => f && { ...f, [k]: Number(e.target.value) }),
  });
  // An engine at a socket given on the command line is not Berth's to configure: restarting it only reconnects.
  const canApply = !!engine?.canRestart && engine.mode !== 'socket';
  const nextStart = <span className="hint">{t('settings.hintNextStart')}</span>;

  return (
    <section className="page" aria-labelledby="settings-title">
      <header className="page-header">
        <div>
          <h1 id="settings-title">{t('page.settings')}</h1>
          <p className="subtitle">{t('settings.subtitle')}</p>
        </div>
      </header>
      {notice && (
        <Notice kind={notice.kind} onClose={() => setNotice(undefined)}>
          {notice.text}
        </Notice>
      )}
      {restartNeeded && (
        <div className="card tab-panel" role="region" aria-label={t('settings.restartNeeded')} data-testid="restart-needed">
          <strong>{t('settings.restartNeeded')}</strong>
          <p className="hint">{canApply ? t('settings.restartHint') : t('settings.restartElsewhere', { message: engine?.message ?? '' })}</p>
          <button type="button" className="btn primary" disabled={!canApply || restarting} onClick={() => void restart()}>
            {restarting ? t('settings.restarting') : t('settings.restartNow')}
          </button>
        </div>
      )}
      {saved.error && <Notice kind="error">{messageOf(saved.error)}</Notice>}
      {/* noValidate: main validates (settings.ts) and its message names the field and the range. */}
      {form && (
        <form className="card tab-panel" onSubmit={submit} noValidate>
          <div className="form-grid">
            <label>
              {t('settings.cpus')} {nextStart}
              <input {...num('cpus')} min={1} max={128} />
            </label>
            <label>
              {t('settings.memory')} {nextStart}
              <input {...num('memoryMiB')} min={512} step={256} />
            </label>
            <label>
              {t('settings.disk')} <span className="hint">{t('settings.hintDisk')}</span>
              <input {...num('diskGiB')} min={4} />
            </label>
            <label>
              {t('settings.accelerator')} {nextStart}
              <select value={form.accelerator} onChange={(e) => setForm({ ...form, accelerator: e.target.value as DashboardSettings['accelerator'] })}>
                {ACCELERATORS.map((a) => (
                  <option key={a} value={a}>
                    {a}
                  </option>
                ))}
              </select>
            </label>
            <fieldset className="wide" style={group} aria-describedby="engine-mode-hint">
              <legend>{t('settings.engineMode')}</legend>
              <label className="switch" style={inline}>
                <input type="radio" name="engineMode" value="vm" checked={form.engineMode === 'vm'} onChange={() => setForm({ ...form, engineMode: 'vm' })} />
                {t('settings.engineVm')}
              </label>{' '}
              <label className="switch" style={inline}>
                <input
                  type="radio"
                  name="engineMode"
                  value="native"
                  checked={form.engineMode === 'native'}
                  disabled={!!form.nativeUnavailable && form.engineMode !== 'native'}
                  onChange={() => setForm({ ...form, engineMode: 'native' })}
                />
                {t('settings.engineNative')}
              </label>
              <p className="hint" id="engine-mode-hint" data-testid="native-note">
                {form.nativeUnavailable ? t('settings.nativeUnavailable', { reason: form.nativeUnavailable }) : t('settings.engineHint')}
              </p>
            </fieldset>
            <fieldset className="wide" style={group}>
              <legend>{t('settings.fileSharing')}</legend>
              <p className="hint">{t('settings.fileSharingHint')}</p>
              {form.fileShares.length === 0 ? (
                <p className="hint">{t('settings.noShares')}</p>
              ) : (
                <ul aria-label={t('settings.sharedFolders')} style={{ listStyle: 'none', padding: 0, margin: '6px 0 10px' }}>
                  {form.fileShares.map((p, i) => (
                    <li key={`${p}-${i}`} className="mono" style={{ padding: '3px 0' }}>
                      {p}{' '}
                      <button
                        type="button"
                        className="btn small"
                        aria-label={t('settings.removeShare', { path: p })}
                        onClick={() => setForm({ ...form, fileShares: form.fileShares.filter((_, j) => j !== i) })}
                      >
                        {t('settings.remove')}
                      </button>
                    </li>
                  ))}
                </ul>
              )}
              <span className="pull-form">
                <input
                  aria-label={t('settings.addShareLabel')}
                  value={newShare}
                  placeholder="/home/me/projects"
                  onChange={(e) => setNewShare(e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') {
                      e.preventDefault();
                      addShare(newShare);
                    }
                  }}
                />
                <button type="button" className="btn" onClick={() => addShare(newShare)}>
                  {t('settings.addShare')}
                </button>
                {window.berth && (
                  <button type="button" className="btn" onClick={() => void pick()}>
                    {t('settings.browse')}
                  </button>
                )}
              </span>
            </fieldset>
            {form.startAtLogin !== undefined && (
              <label className="switch wide">
                <input type="checkbox" checked={form.startAtLogin} onChange={(e) => setForm({ ...form, startAtLogin: e.target.checked })} />
                {t('settings.startAtLogin')}
              </label>
            )}
          </div>
          <div className="dialog-actions">
            <button type="submit" className="btn primary">
              {t('settings.save')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
