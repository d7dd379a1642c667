import { useEffect, useState, type FormEvent } from 'react';
import { useT } from '../i18n/i18n.js';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { DashboardSettings } from '../../../main/src/shared/berth-api.js';
import { useClient } from '../api/hooks.js';
import { messageOf } from '../api/errors.js';
import { Notice } from '../components/Notice.js';

const ACCELERATORS: DashboardSettings['accelerator'][] = ['auto', 'kvm', 'hvf', 'whpx', 'tcg'];

/**
 * The VM's settings (settings.json, validated by main, which names a bad
 * field) and, in the desktop app, start at login. VM settings apply at the
 * next VM start; the disk size only when the data disk is first made.
 */
export function SettingsPage() {
  const { t } = useT();
  const client = useClient();
  const qc = useQueryClient();
  const saved = useQuery({ queryKey: ['settings'], queryFn: () => client.call('settings') });
  const [form, setForm] = useState<DashboardSettings>();
  const [notice, setNotice] = useState<{ kind: 'error' | 'info'; text: string }>();
  useEffect(() => {
    if (saved.data && !form) setForm(saved.data);
  }, [saved.data, form]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!form || !saved.data) return;
    const change: Partial<DashboardSettings> = {};
    for (const k of Object.keys(form) as (keyof DashboardSettings)[]) {
      if (form[k] !== saved.data[k]) Object.assign(change, { [k]: form[k] });
    }
    try {
      const next = await client.call('updateSettings', change);
      qc.setQueryData(['settings'], next);
      setForm(next);
      const vmChanged = Object.keys(change).some((k) => k !== 'startAtLogin');
      setNotice({ kind: 'info', text: vmChanged ? 'Saved. The VM uses the new settings at its next start: restart the engine to apply them now.' : 'Saved.' });
    } catch (err) {
      setNotice({ kind: 'error', text: messageOf(err) });
    }
  };
  const num = (k: 'cpus' | 'memoryMiB' | 'diskGiB') => ({
    type: 'number',
    value: form?.[k] ?? '',
    onChange: (e: { target: { value: string } }) => setForm((f) => f && { ...f, [k]: Number(e.target.value) }),
  });

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
      {saved.error && <Notice kind="error">{messageOf(saved.error)}</Notice>}
      {/* noValidate: main validates (settings.ts) and its message names the field and the range. */}
      {form && (
        <form className="card tab-panel" onSubmit={submit} noValidate>
          <div className="form-grid">
            <label>
              CPUs <span className="hint">applies at next VM start</span>
              <input {...num('cpus')} min={1} max={128} />
            </label>
            <label>
              Memory (MiB) <span className="hint">applies at next VM start</span>
              <input {...num('memoryMiB')} min={512} step={256} />
            </label>
            <label>
              Disk size (GiB) <span className="hint">applies when the data disk is made</span>
              <input {...num('diskGiB')} min={4} />
            </label>
            <label>
              Accelerator <span className="hint">applies at next VM start</span>
              <select value={form.accelerator} onChange={(e) => setForm({ ...form, accelerator: e.target.value as DashboardSettings['accelerator'] })}>
                {ACCELERATORS.map((a) => (
                  <option key={a} value={a}>
                    {a}
                  </option>
                ))}
              </select>
            </label>
            {form.startAtLogin !== undefined && (
              <label className="switch wide">
                <input type="checkbox" checked={form.startAtLogin} onChange={(e) => setForm({ ...form, startAtLogin: e.target.checked })} />
                Start Berth when I log in
              </label>
            )}
          </div>
          <div className="dialog-actions">
            <button type="submit" className="btn primary">
              Save
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
