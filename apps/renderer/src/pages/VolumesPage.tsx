import { useState, type FormEvent } from 'react';
import { useT } from '../i18n/i18n.js';
import { useEngineRunning, useVolumes } from '../api/hooks.js';
import { isUnsupported } from '../api/errors.js';
import { useResourceActions } from '../api/resource-actions.js';
import { ListTable, type Column } from '../components/ListTable.js';
import { ResourceFrame, RowActions } from '../components/ResourceFrame.js';
import { formatSize, timeAgo } from '../lib/format.js';

export function VolumesPage() {
  const { t } = useT();
  const volumes = useVolumes();
  const running = useEngineRunning();
  const actions = useResourceActions('volumes');
  const [name, setName] = useState('');
  const columns: Column[] = [
    { title: t('column.name') },
    { title: t('column.driver') },
    { title: t('column.created') },
    { title: t('column.size'), className: 'num' },
    { title: t('column.actions'), className: 'actions-col' },
  ];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    // An empty name asks the engine for a random one, as `docker volume create` does.
    if (await actions.create(n ? { Name: n } : {}, n || t('volumes.random'))) setName('');
  };
  const list = [...(volumes.data ?? [])].sort((a, b) => a.Name.localeCompare(b.Name));

  const form = (
    <form className="card create-form" onSubmit={submit}>
      <input
        aria-label={t('volumes.newName')}
        placeholder={t('volumes.newNamePlaceholder')}
        value={name}
        onChange={(e) => setName(e.target.value)}
        disabled={!running}
      />
      <button className="btn primary" type="submit" disabled={!running}>
        {t('common.create')}
      </button>
    </form>
  );
  return (
    <ResourceFrame
      noun="Volume"
      title={t('page.volumes')}
      subtitle={volumes.data ? t(list.length === 1 ? 'volumes.subtitleOne' : 'volumes.subtitleMany', { count: list.length }) : t('volumes.subtitleEmpty')}
      inspectTitle={(n) => t('volumes.inspectTitle', { name: n })}
      unsupported={isUnsupported(volumes.error)}
      form={form}
      actions={actions}
    >
      <ListTable
        label={t('page.volumes')}
        what={t('page.volumes')}
        columns={columns}
        running={running}
        query={volumes}
        count={list.length}
        emptyText={t('volumes.empty')}
      >
        {list.map((v) => (
          <tr key={v.Name} data-name={v.Name}>
            <td className="strong mono">{v.Name}</td>
            <td>{v.Driver}</td>
            <td>{v.CreatedAt ? timeAgo(Date.parse(v.CreatedAt) / 1000) : '—'}</td>
            <td className="num">{v.UsageData && v.UsageData.Size >= 0 ? formatSize(v.UsageData.Size) : '—'}</td>
            <RowActions actions={actions} id={v.Name} name={v.Name} />
          </tr>
        ))}
      </ListTable>
    </ResourceFrame>
  );
}
