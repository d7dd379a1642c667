import { useState, type FormEvent } from 'react';
import { useT } from '../i18n/i18n.js';
import { useEngineRunning, useNetworks } from '../api/hooks.js';
import { isUnsupported } from '../api/errors.js';
import { useResourceActions } from '../api/resource-actions.js';
import { ListTable, type Column } from '../components/ListTable.js';
import { ResourceFrame, RowActions } from '../components/ResourceFrame.js';
import { shortId } from '../lib/format.js';

/** Networks the engine made itself; they cannot be deleted. */
const PREDEFINED = new Set(['bridge', 'host', 'none']);

export function NetworksPage() {
  const { t } = useT();
  const networks = useNetworks();
  const running = useEngineRunning();
  const actions = useResourceActions('networks');
  const [name, setName] = useState('');
  const [driver, setDriver] = useState('bridge');
  const columns: Column[] = [
    { title: t('column.name') },
    { title: t('column.driver') },
    { title: t('column.subnet') },
    { title: t('column.containers'), className: 'num' },
    { title: t('column.actions'), className: 'actions-col' },
  ];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await actions.create({ Name: name.trim(), Driver: driver, CheckDuplicate: true }, name.trim())) setName('');
  };
  const list = [...(networks.data ?? [])].sort((a, b) => a.Name.localeCompare(b.Name));

  const form = (
    <form className="card create-form" onSubmit={submit}>
      <input
        aria-label={t('networks.newName')}
        placeholder={t('networks.newNamePlaceholder')}
        value={name}
        onChange={(e) => setName(e.target.value)}
        disabled={!running}
      />
      <select aria-label={t('networks.driver')} value={driver} onChange={(e) => setDriver(e.target.value)} disabled={!running}>
        <option value="bridge">bridge</option>
      </select>
      <button className="btn primary" type="submit" disabled={!running || !name.trim()}>
        {t('common.create')}
      </button>
    </form>
  );
  return (
    <ResourceFrame
      noun="Network"
      title={t('page.networks')}
      subtitle={networks.data ? t(list.length === 1 ? 'networks.subtitleOne' : 'networks.subtitleMany', { count: list.length }) : t('networks.subtitleEmpty')}
      inspectTitle={(n) => t('networks.inspectTitle', { name: n })}
      unsupported={isUnsupported(networks.error)}
      form={form}
      actions={actions}
    >
      <ListTable
        label={t('page.networks')}
        what={t('page.networks')}
        columns={columns}
        running={running}
        query={networks}
        count={list.length}
        emptyText={t('networks.empty')}
      >
        {list.map((n) => (
          <tr key={n.Id} data-name={n.Name}>
            <td>
              <div className="strong">{n.Name}</div>
              <div className="mono dim">{shortId(n.Id)}</div>
            </td>
            <td>{n.Driver}</td>
            <td className="mono">
              {(n.IPAM?.Config ?? [])
                .map((c) => c.Subnet)
                .filter(Boolean)
                .join(', ') || '—'}
            </td>
            <td className="num">{Object.keys(n.Containers ?? {}).length}</td>
            <RowActions actions={actions} id={n.Id} name={n.Name} locked={PREDEFINED.has(n.Name) ? t('networks.predefined') : undefined} />
          </tr>
        ))}
      </ListTable>
    </ResourceFrame>
  );
}
