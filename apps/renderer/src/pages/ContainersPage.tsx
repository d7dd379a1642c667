import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { keys, useClient, useContainers, useEngineRunning } from '../api/hooks.js';
import type { ContainerSummary, Port } from '../api/docker-types.js';
import { ListTable, type Column } from '../components/ListTable.js';
import { Notice } from '../components/Notice.js';
import { shortId, timeAgo } from '../lib/format.js';

const nameOf = (c: ContainerSummary) => (c.Names[0] ?? shortId(c.Id)).replace(/^\//, '');

/** Published ports, one per host port (IPv4 and IPv6 bindings of one port are one link). */
function publishedPorts(ports: Port[]): { host: number; container: number; type: string }[] {
  const seen = new Map<string, { host: number; container: number; type: string }>();
  for (const p of ports) {
    if (!p.PublicPort) continue;
    seen.set(`${p.PublicPort}/${p.Type}`, { host: p.PublicPort, container: p.PrivatePort, type: p.Type });
  }
  return [...seen.values()].sort((a, b) => a.host - b.host);
}

type Action = 'start' | 'stop' | 'restart' | 'delete';

const COLUMNS: Column[] = [{ title: 'Name' }, { title: 'Image' }, { title: 'State' }, { title: 'Ports' }, { title: 'Created' }, { title: 'Actions', className: 'actions-col' }];

export function ContainersPage() {
  const containers = useContainers();
  const running = useEngineRunning();
  const client = useClient();
  const qc = useQueryClient();
  const [filter, setFilter] = useState('');
  const [showAll, setShowAll] = useState(true);
  const [pending, setPending] = useState<Record<string, Action>>({});
  const [error, setError] = useState<string>();

  const act = async (c: ContainerSummary, action: Action) => {
    if (action === 'delete' && c.State === 'running' && !window.confirm(`${nameOf(c)} is running. Stop and delete it?`)) return;
    setError(undefined);
    setPending((p) => ({ ...p, [c.Id]: action }));
    try {
      if (action === 'delete') await client.docker('DELETE', `/containers/${c.Id}?force=1`);
      else await client.docker('POST', `/containers/${c.Id}/${action}`);
    } catch (err) {
      setError(`${action} ${nameOf(c)}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setPending(({ [c.Id]: _, ...rest }) => rest);
      void qc.invalidateQueries({ queryKey: keys.containers });
    }
  };

  const list = (containers.data ?? [])
    .filter((c) => showAll || c.State === 'running')
    .filter((c) => !filter || nameOf(c).includes(filter) || c.Image.includes(filter));
  const runningCount = (containers.data ?? []).filter((c) => c.State === 'running').length;

  return (
    <section className="page" aria-labelledby="containers-title">
      <header className="page-header">
        <div>
          <h1 id="containers-title">Containers</h1>
          <p className="subtitle">{containers.data ? `${runningCount} running · ${containers.data.length} in all` : 'Containers on this engine'}</p>
        </div>
        <div className="toolbar">
          <input className="search" type="search" placeholder="Search" aria-label="Search containers" value={filter} onChange={(e) => setFilter(e.target.value)} />
          <label className="switch">
            <input type="checkbox" checked={!showAll} onChange={(e) => setShowAll(!e.target.checked)} /> Only running
          </label>
        </div>
      </header>
      {error && (
        <Notice kind="error" onClose={() => setError(undefined)}>
          {error}
        </Notice>
      )}
      <ListTable label="Containers" columns={COLUMNS} running={running} query={containers} count={list.length} emptyText={filter || !showAll ? 'No container matches.' : 'No containers yet. Run one from the Images page.'}>
        {list.map((c) => {
          const busy = pending[c.Id];
          const isRunning = c.State === 'running' || c.State === 'restarting';
          return (
            <tr key={c.Id} data-name={nameOf(c)}>
              <td>
                <div className="strong">{nameOf(c)}</div>
                <div className="mono dim">{shortId(c.Id)}</div>
              </td>
              <td className="mono">{c.Image}</td>
              <td>
                <span className={`badge ${c.State}`}>{busy ? `${busy}…` : c.State}</span>
                <div className="dim small">{c.Status}</div>
              </td>
              <td>
                {publishedPorts(c.Ports).map((p) => (
                  <a key={`${p.host}/${p.type}`} className="port-link" href={`http://localhost:${p.host}`} target="_blank" rel="noreferrer">
                    {p.host}:{p.container}
                    {p.type !== 'tcp' ? `/${p.type}` : ''}
                  </a>
                ))}
              </td>
              <td>{timeAgo(c.Created)}</td>
              <td className="actions">
                {isRunning ? (
                  <button className="btn small" disabled={!!busy} onClick={() => void act(c, 'stop')}>
                    Stop
                  </button>
                ) : (
                  <button className="btn small primary" disabled={!!busy} onClick={() => void act(c, 'start')}>
                    Start
                  </button>
                )}
                <button className="btn small" disabled={!!busy} onClick={() => void act(c, 'restart')}>
                  Restart
                </button>
                <button className="btn small danger" disabled={!!busy} onClick={() => void act(c, 'delete')} aria-label={`Delete ${nameOf(c)}`}>
                  Delete
                </button>
              </td>
            </tr>
          );
        })}
      </ListTable>
    </section>
  );
}
