import { useState } from 'react';
import { fillNodes, useT } from '../i18n/i18n.js';
import { useQueryClient } from '@tanstack/react-query';
import { keys, useClient, useContainers, useEngineRunning } from '../api/hooks.js';
import { actionsFor, runContainerAction, stateLabel, type ContainerAction } from '../api/container-actions.js';
import type { ContainerSummary, Port } from '@berth/api';
import { messageOf } from '../api/errors.js';
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

const FILTERS = {
  all: { keep: () => true },
  running: { keep: (c: ContainerSummary) => c.State === 'running' || c.State === 'restarting' },
  paused: { keep: (c: ContainerSummary) => c.State === 'paused' },
  stopped: { keep: (c: ContainerSummary) => c.State === 'exited' || c.State === 'created' || c.State === 'dead' },
} as const;
type FilterName = keyof typeof FILTERS;

const BULK: ContainerAction[] = ['start', 'stop', 'restart', 'pause', 'unpause', 'delete'];
/** Restart stays in the detail view and the selection bar: rows keep to the common four. */
const ROW_ACTIONS: ContainerAction[] = ['start', 'unpause', 'stop', 'pause', 'delete'];

export function ContainersPage() {
  const { t } = useT();
  const containers = useContainers();
  const running = useEngineRunning();
  const client = useClient();
  const qc = useQueryClient();
  const [search, setSearch] = useState('');
  const [filter, setFilter] = useState<FilterName>('all');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [pending, setPending] = useState<Record<string, ContainerAction>>({});
  const [errors, setErrors] = useState<string[]>([]);
  const label = (a: ContainerAction) => t(`action.${a}`);
  const columns: Column[] = [
    { title: '', className: 'check-col' },
    { title: t('column.name') },
    { title: t('column.image') },
    { title: t('column.state') },
    { title: t('column.ports') },
    { title: t('column.created') },
    { title: t('column.actions'), className: 'actions-col' },
  ];

  const all = containers.data ?? [];
  const needle = search.trim().toLowerCase();
  const list = all
    .filter(FILTERS[filter].keep)
    .filter((c) => !needle || nameOf(c).toLowerCase().includes(needle) || c.Image.toLowerCase().includes(needle) || c.Id.startsWith(needle));
  // Selected containers that still exist and are shown: what a bulk action acts on.
  const chosen = list.filter((c) => selected.has(c.Id));
  const runningCount = all.filter(FILTERS.running.keep).length;

  const act = async (targets: ContainerSummary[], action: ContainerAction) => {
    const live = targets.filter((c) => c.State === 'running');
    if (action === 'delete') {
      const what = targets.length === 1 ? nameOf(targets[0]!) : t('containers.many', { count: targets.length });
      if (!window.confirm(live.length ? t('containers.confirmStopDelete', { what, running: live.length }) : t('containers.confirmDelete', { what }))) return;
    }
    setErrors([]);
    setPending((p) => ({ ...p, ...Object.fromEntries(targets.map((c) => [c.Id, action])) }));
    const failed: string[] = [];
    await Promise.all(
      targets.map(async (c) => {
        try {
          await runContainerAction(client, c.Id, action);
        } catch (err) {
          failed.push(t('containers.actionFailed', { action: label(action).toLowerCase(), name: nameOf(c), message: messageOf(err) }));
        } finally {
          setPending(({ [c.Id]: _, ...rest }) => rest);
        }
      }),
    );
    setErrors(failed);
    if (action === 'delete') setSelected((s) => new Set([...s].filter((id) => !targets.some((c) => c.Id === id))));
    void qc.invalidateQueries({ queryKey: keys.containers });
  };

  const toggle = (id: string, on: boolean) =>
    setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allShownSelected = list.length > 0 && chosen.length === list.length;

  return (
    <section className="page" aria-labelledby="containers-title">
      <header className="page-header">
        <div>
          <h1 id="containers-title">{t('page.containers')}</h1>
          <p className="subtitle">{containers.data ? t('containers.subtitle', { running: runningCount, all: all.length }) : t('containers.subtitleEmpty')}</p>
        </div>
        <div className="toolbar">
          <input
            className="search"
            type="search"
            placeholder={t('containers.search')}
            aria-label={t('containers.searchLabel')}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <div className="segmented" role="radiogroup" aria-label={t('containers.show')}>
            {(Object.keys(FILTERS) as FilterName[]).map((f) => (
              <button key={f} role="radio" aria-checked={filter === f} className={filter === f ? 'active' : ''} onClick={() => setFilter(f)}>
                {t(`containers.filter.${f}`)}
              </button>
            ))}
          </div>
        </div>
      </header>
      {chosen.length > 0 && (
        <div className="selection-bar" role="toolbar" aria-label={t('containers.selection')}>
          <span>{fillNodes(t('containers.selected'), { count: <strong>{chosen.length}</strong> })}</span>
          {BULK.map((a) => (
            <button
              key={a}
              className={`btn small${a === 'delete' ? ' danger' : ''}`}
              disabled={!chosen.some((c) => actionsFor(c.State).includes(a))}
              onClick={() =>
                void act(
                  chosen.filter((c) => actionsFor(c.State).includes(a)),
                  a,
                )
              }
            >
              {label(a)}
            </button>
          ))}
          <button className="btn small ghost" onClick={() => setSelected(new Set())}>
            {t('containers.clear')}
          </button>
        </div>
      )}
      {errors.map((e) => (
        <Notice key={e} kind="error" onClose={() => setErrors((xs) => xs.filter((x) => x !== e))}>
          {e}
        </Notice>
      ))}
      <ListTable
        label={t('page.containers')}
        columns={columns}
        running={running}
        query={containers}
        count={list.length}
        emptyText={needle || filter !== 'all' ? t('containers.emptyMatch') : t('containers.empty')}
        headCheckbox={
          <input
            type="checkbox"
            aria-label={t('containers.selectAll')}
            checked={allShownSelected}
            disabled={!list.length}
            onChange={(e) => setSelected(e.target.checked ? new Set(list.map((c) => c.Id)) : new Set())}
          />
        }
      >
        {list.map((c) => {
          const busy = pending[c.Id];
          const can = actionsFor(c.State);
          const name = nameOf(c);
          return (
            <tr key={c.Id} data-name={name} className={selected.has(c.Id) ? 'selected' : ''}>
              <td className="check-col">
                <input
                  type="checkbox"
                  aria-label={t('containers.select', { name })}
                  checked={selected.has(c.Id)}
                  onChange={(e) => toggle(c.Id, e.target.checked)}
                />
              </td>
              <td>
                <a className="strong row-link" href={`#/containers/${c.Id}/logs`}>
                  {name}
                </a>
                <div className="mono dim">{shortId(c.Id)}</div>
              </td>
              <td className="mono">{c.Image}</td>
              <td>
                <span className={`badge ${c.State}`}>{busy ? t('containers.pending', { action: label(busy).toLowerCase() }) : stateLabel(t, c.State)}</span>
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
                {ROW_ACTIONS.filter((a) => can.includes(a)).map((a) => (
                  <button
                    key={a}
                    className={`btn small${a === 'start' || a === 'unpause' ? ' primary' : a === 'delete' ? ' danger' : ''}`}
                    disabled={!!busy}
                    onClick={() => void act([c], a)}
                    aria-label={`${label(a)} ${name}`}
                  >
                    {label(a)}
                  </button>
                ))}
              </td>
            </tr>
          );
        })}
      </ListTable>
    </section>
  );
}
