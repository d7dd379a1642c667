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

const COLUMNS: Column[] = [{ title: 'Name' }, { title: 'Driver' }, { title: 'Subnet' }, { title: 'Containers', className: 'num' }, { title: 'Actions', className: 'actions-col' }];

export function NetworksPage() {
  const { t } = useT();
  const networks = useNetworks();
  const running = useEngineRunning();
  const actions = useResourceActions('networks');
  const [name, setName] = useState('');
  const [driver, setDriver] = useState('bridge');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await actions.create({ Name: name.trim(), Driver: driver, CheckDuplicate: true }, name.trim())) setName('');
  };
  const list = [...(networks.data ?? [])].sort((a, b) => a.Name.localeCompare(b.Name));

  const form = (
    <form className="card create-form" onSubmit={submit}>
      <input aria-label="New network name" placeholder="New network name, like my-app" value={name} onChange={(e) => setName(e.target.value)} disabled={!running} />
      <select aria-label="Driver" value={driver} onChange={(e) => setDriver(e.target.value)} disabled={!running}>
        <option value="bridge">bridge</option>
      </select>
      <button className="btn primary" type="submit" disabled={!running || !name.trim()}>
        Create
      </button>
    </form>
  );
  return (
    <ResourceFrame
      noun="Network"
      title={t('page.networks')}
      subtitle={networks.data ? t(list.length === 1 ? 'networks.subtitleOne' : 'networks.subtitleMany', { count: list.length }) : t('networks.subtitleEmpty')}
      unsupported={isUnsupported(networks.error)}
      form={form}
      actions={actions}
    >
      <ListTable label="Networks" what="Networks" columns={COLUMNS} running={running} query={networks} count={list.length} emptyText="No networks.">
        {list.map((n) => (
          <tr key={n.Id} data-name={n.Name}>
            <td>
              <div className="strong">{n.Name}</div>
              <div className="mono dim">{shortId(n.Id)}</div>
            </td>
            <td>{n.Driver}</td>
            <td className="mono">{(n.IPAM?.Config ?? []).map((c) => c.Subnet).filter(Boolean).join(', ') || '—'}</td>
            <td className="num">{Object.keys(n.Containers ?? {}).length}</td>
            <RowActions actions={actions} id={n.Id} name={n.Name} locked={PREDEFINED.has(n.Name) ? 'A predefined network cannot be removed' : undefined} />
          </tr>
        ))}
      </ListTable>
    </ResourceFrame>
  );
}
