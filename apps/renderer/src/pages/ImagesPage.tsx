import { useMemo, useRef, useState, type FormEvent } from 'react';
import { useT } from '../i18n/i18n.js';
import { useQueryClient } from '@tanstack/react-query';
import { keys, useClient, useContainers, useEngineRunning, useImages } from '../api/hooks.js';
import type { ImagePruneResponse, ImageSummary, ProgressMessage } from '@berth/api';
import { ListTable, type Column } from '../components/ListTable.js';
import { Notice } from '../components/Notice.js';
import { RunDialog } from '../components/RunDialog.js';
import { formatSize, shortId, timeAgo } from '../lib/format.js';
import { foldPull, initialPull, type PullState } from '../lib/pull-progress.js';

interface Row {
  key: string;
  /** What DELETE and Run use: the tag, or the ID for an untagged image. */
  ref: string;
  repo: string;
  tag: string;
  image: ImageSummary;
}

function rowsOf(images: ImageSummary[]): Row[] {
  return images.flatMap((img) => {
    const tags = img.RepoTags?.filter((t) => t !== '<none>:<none>') ?? [];
    if (!tags.length) return [{ key: img.Id, ref: img.Id, repo: '<none>', tag: '<none>', image: img }];
    return tags.map((t) => {
      const colon = t.lastIndexOf(':');
      return { key: `${img.Id}/${t}`, ref: t, repo: t.slice(0, colon), tag: t.slice(colon + 1), image: img };
    });
  });
}

export function ImagesPage() {
  const { t } = useT();
  const images = useImages();
  const containers = useContainers();
  const running = useEngineRunning();
  const client = useClient();
  const qc = useQueryClient();
  const [filter, setFilter] = useState('');
  const [notice, setNotice] = useState<{ kind: 'error' | 'info'; text: string }>();
  const [runImage, setRunImage] = useState<string>();
  const columns: Column[] = [
    { title: t('column.repository') },
    { title: t('column.tag') },
    { title: t('column.imageId') },
    { title: t('column.created') },
    { title: t('column.size'), className: 'num' },
    { title: t('column.status') },
    { title: t('column.actions'), className: 'actions-col' },
  ];

  const inUse = useMemo(() => new Set((containers.data ?? []).map((c) => c.ImageID)), [containers.data]);
  const rows = rowsOf(images.data ?? []).filter((r) => !filter || `${r.repo}:${r.tag}`.includes(filter));
  const total = (images.data ?? []).reduce((n, i) => n + i.Size, 0);

  const remove = async (row: Row) => {
    setNotice(undefined);
    try {
      await client.docker('DELETE', `/images/${encodeURIComponent(row.ref)}`);
      setNotice({ kind: 'info', text: t('common.deleted', { name: row.ref === row.image.Id ? shortId(row.ref) : row.ref }) });
    } catch (err) {
      setNotice({ kind: 'error', text: err instanceof Error ? err.message : String(err) });
    }
    void qc.invalidateQueries({ queryKey: keys.images });
  };

  const prune = async () => {
    if (!window.confirm(t('images.pruneConfirm'))) return;
    setNotice(undefined);
    try {
      const filters = encodeURIComponent(JSON.stringify({ dangling: ['false'] }));
      const r = await client.docker<ImagePruneResponse>('POST', `/images/prune?filters=${filters}`);
      setNotice({
        kind: 'info',
        text: t('images.pruned', { count: r.ImagesDeleted?.filter((d) => d.Deleted).length ?? 0, size: formatSize(r.SpaceReclaimed) }),
      });
    } catch (err) {
      setNotice({ kind: 'error', text: err instanceof Error ? err.message : String(err) });
    }
    void qc.invalidateQueries({ queryKey: keys.images });
  };

  return (
    <section className="page" aria-labelledby="images-title">
      <header className="page-header">
        <div>
          <h1 id="images-title">{t('page.images')}</h1>
          <p className="subtitle">
            {images.data
              ? t(images.data.length === 1 ? 'images.subtitleOne' : 'images.subtitleMany', { count: images.data.length, size: formatSize(total) })
              : t('images.subtitleEmpty')}
          </p>
        </div>
        <div className="toolbar">
          <input
            className="search"
            type="search"
            placeholder={t('common.search')}
            aria-label={t('images.searchLabel')}
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
          />
          <button className="btn" onClick={prune} disabled={!running}>
            {t('images.prune')}
          </button>
        </div>
      </header>
      <PullPanel disabled={!running} />
      {notice && (
        <Notice kind={notice.kind} onClose={() => setNotice(undefined)}>
          {notice.text}
        </Notice>
      )}
      <ListTable
        label={t('page.images')}
        columns={columns}
        running={running}
        query={images}
        count={rows.length}
        emptyText={filter ? t('images.emptyMatch') : t('images.empty')}
      >
        {rows.map((r) => (
          <tr key={r.key} data-ref={r.ref}>
            <td className="strong">{r.repo}</td>
            <td>
              <span className="tag">{r.tag}</span>
            </td>
            <td className="mono">{shortId(r.image.Id)}</td>
            <td>{timeAgo(r.image.Created)}</td>
            <td className="num">{formatSize(r.image.Size)}</td>
            <td>
              {inUse.has(r.image.Id) || r.image.Containers > 0 ? (
                <span className="badge running">{t('images.inUse')}</span>
              ) : (
                <span className="badge muted">{t('images.unused')}</span>
              )}
            </td>
            <td className="actions">
              <button className="btn small primary" onClick={() => setRunImage(r.ref)}>
                {t('images.run')}
              </button>
              <button className="btn small danger" onClick={() => void remove(r)} aria-label={t('common.deleteNamed', { name: r.ref })}>
                {t('common.delete')}
              </button>
            </td>
          </tr>
        ))}
      </ListTable>
      {runImage && <RunDialog image={runImage} onClose={() => setRunImage(undefined)} />}
    </section>
  );
}

/** The pull form and, while pulling, one progress bar per layer from the engine's JSON stream. */
function PullPanel({ disabled }: { disabled: boolean }) {
  const { t } = useT();
  const client = useClient();
  const qc = useQueryClient();
  const [ref, setRef] = useState('');
  const [pull, setPull] = useState<{ ref: string; state: PullState; done: boolean }>();
  const abort = useRef<AbortController | undefined>(undefined);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const name = ref.trim();
    if (!name) return;
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    let state = initialPull;
    setPull({ ref: name, state, done: false });
    try {
      await client.dockerJson(
        'POST',
        `/images/create?fromImage=${encodeURIComponent(name)}`,
        (m) => {
          state = foldPull(state, m as ProgressMessage);
          setPull({ ref: name, state, done: false });
        },
        ctl.signal,
      );
    } catch (err) {
      state = { ...state, error: err instanceof Error ? err.message : String(err) };
    }
    setPull({ ref: name, state, done: true });
    void qc.invalidateQueries({ queryKey: keys.images });
  };

  const p = pull?.state;
  return (
    <div className="card pull-card">
      <form className="pull-form" onSubmit={submit}>
        <input
          aria-label={t('images.pullLabel')}
          placeholder={t('images.pullPlaceholder')}
          value={ref}
          onChange={(e) => setRef(e.target.value)}
          disabled={disabled}
        />
        <button className="btn primary" type="submit" disabled={disabled || !ref.trim() || (pull && !pull.done)}>
          {pull && !pull.done ? t('images.pulling') : t('images.pull')}
        </button>
      </form>
      {pull && p && (
        <div className="pull-progress" data-testid="pull-progress" data-done={pull.done ? 'true' : 'false'} aria-live="polite">
          <div className="pull-title">
            {pull.done ? (p.error ? t('images.pullFailed') : t('images.pullDone')) : t('images.pullRunning')} <code>{pull.ref}</code>
            {pull.done && (
              <button className="icon-btn" aria-label={t('common.dismiss')} onClick={() => setPull(undefined)}>
                ×
              </button>
            )}
          </div>
          {p.layers.map((l) => (
            <div className="layer" key={l.id} data-testid="layer-progress">
              <span className="mono layer-id">{l.id}</span>
              <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round((l.fraction ?? 0) * 100)}>
                <div className={`bar-fill${l.done ? ' done' : ''}`} style={{ width: `${Math.round((l.fraction ?? 0) * 100)}%` }} />
              </div>
              <span className="layer-status">{l.status}</span>
            </div>
          ))}
          {p.messages.slice(-2).map((m, i) => (
            <div className="pull-message" key={i}>
              {m}
            </div>
          ))}
          {p.error && <Notice kind="error">{p.error}</Notice>}
        </div>
      )}
    </div>
  );
}
