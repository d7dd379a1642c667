import { useCallback, useEffect, useState, type CSSProperties, type FormEvent } from 'react';
import { useClient } from '../../api/hooks.js';
import type { BerthClient } from '../../api/client.js';
import { useT } from '../../i18n/i18n.js';
import { formatSize } from '../../lib/format.js';
import { modeString, TarReader, type TarEntry } from '../../lib/tar-reader.js';
import { Notice } from '../Notice.js';

/** The most of a file the viewer reads; the rest is left to Download. */
export const VIEW_CAP = 256 * 1024;

type View =
  { kind: 'dir'; path: string; entries: TarEntry[] } | { kind: 'file'; path: string; entry: TarEntry; text?: string; binary: boolean; truncated: boolean };

const linkButton: CSSProperties = { background: 'none', border: 0, padding: 0, font: 'inherit', color: 'var(--accent)', cursor: 'pointer', textAlign: 'left' };

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function parent(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function archivePath(id: string, path: string): string {
  return `/containers/${encodeURIComponent(id)}/archive?path=${encodeURIComponent(path)}`;
}

/** Text when it decodes as UTF-8 without NUL bytes; undefined for binary. */
function asText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // A cut at the cap can split a character: accept an invalid tail of at most 3 bytes.
    for (let cut = 1; cut <= 3 && cut < bytes.length; cut++) {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, bytes.length - cut));
      } catch {
        // try a shorter one
      }
    }
    return undefined;
  }
}

/**
 * Reads `path` of the container through the archive API: a folder's direct
 * children (only the tar headers are looked at), or the start of a file.
 * The archive API, not an exec of `ls`, because it works on stopped
 * containers and on images without a shell or ls (scratch, distroless);
 * the price is that the engine sends the folder's whole subtree, of which
 * the data is skipped here. A file's read stops at VIEW_CAP.
 */
function readPath(client: BerthClient, id: string, path: string, onProgress: (bytes: number) => void, done: (v: View | Error) => void): () => void {
  let first: TarEntry | undefined;
  const children: TarEntry[] = [];
  const data: Uint8Array[] = [];
  let got = 0;
  let received = 0;
  let finished = false;
  let cancel = () => {};
  const finish = () => {
    if (finished) return;
    finished = true;
    cancel();
    if (!first) return done(new Error(`${path}: the engine sent no entry`));
    if (first.type === 'directory') {
      children.sort((a, b) => Number(b.type === 'directory') - Number(a.type === 'directory') || a.name.localeCompare(b.name));
      return done({ kind: 'dir', path, entries: children });
    }
    const bytes = new Uint8Array(got);
    let at = 0;
    for (const d of data) {
      bytes.set(d, at);
      at += d.length;
    }
    const text = asText(bytes);
    done({ kind: 'file', path, entry: first, ...(text !== undefined ? { text } : {}), binary: text === undefined, truncated: first.size > got });
  };
  const reader = new TarReader({
    entry: (e) => {
      if (!first) {
        first = { ...e, name: e.name.split('/').pop() ?? e.name };
        return e.type === 'file' ? VIEW_CAP : 0;
      }
      const rest = e.name.slice(e.name.indexOf('/') + 1);
      if (first.type === 'directory' && !rest.includes('/')) children.push({ ...e, name: rest });
      return 0;
    },
    data: (c) => {
      data.push(c.slice());
      got += c.length;
      if (first && got >= Math.min(first.size, VIEW_CAP)) finish();
    },
  });
  cancel = client.dockerBytes(archivePath(id, path), {
    item: (chunk) => {
      if (finished) return;
      received += chunk.length;
      onProgress(received);
      reader.push(chunk);
      if (first?.type === 'file' && first.size === 0) finish();
      if (reader.ended) finish();
    },
    error: (err) => {
      if (finished) return;
      finished = true;
      done(err);
    },
    end: finish,
  });
  return () => {
    finished = true;
    cancel();
  };
}

/** Saves bytes as a file through the browser's download. */
function saveAs(parts: Uint8Array[], name: string, type: string): void {
  const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A container's filesystem: folders to browse, files to read (text, capped) and to download (a folder as a tar). Works stopped or running. */
export function FilesView({ id }: { id: string }) {
  const { t } = useT();
  const client = useClient();
  const [path, setPath] = useState('/');
  const [typed, setTyped] = useState('/');
  const [view, setView] = useState<View>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(false);
  const [progress, setProgress] = useState(0);
  const [downloading, setDownloading] = useState<string>();

  useEffect(() => {
    setLoading(true);
    setError(undefined);
    setProgress(0);
    setTyped(path);
    return readPath(client, id, path, setProgress, (v) => {
      setLoading(false);
      if (v instanceof Error) setError(v.message);
      else setView(v);
    });
  }, [client, id, path]);

  const download = useCallback(
    (target: string, isDir: boolean) => {
      setDownloading(target);
      setError(undefined);
      const name = target === '/' ? 'root' : target.split('/').pop()!;
      const chunks: Uint8Array[] = [];
      const file: Uint8Array[] = [];
      const reader = isDir ? undefined : new TarReader({ entry: () => (file.length === 0 ? Infinity : 0), data: (c) => file.push(c.slice()) });
      client.dockerBytes(archivePath(id, target), {
        item: (c) => (reader ? reader.push(c) : chunks.push(c)),
        error: (err) => {
          setDownloading(undefined);
          setError(`${t('files.download')} ${target}: ${err.message}`);
        },
        end: () => {
          setDownloading(undefined);
          if (reader) saveAs(file, name, 'application/octet-stream');
          else saveAs(chunks, `${name}.tar`, 'application/x-tar');
        },
      });
    },
    [client, id, t],
  );

  const go = (e: FormEvent) => {
    e.preventDefault();
    const p = typed.trim();
    if (p.startsWith('/')) setPath(p.length > 1 ? p.replace(/\/+$/, '') : '/');
    else setError(t('files.absolute'));
  };

  const crumbs = path === '/' ? [] : path.slice(1).split('/');
  return (
    <div className="files-view">
      <div className="logs-toolbar">
        <nav aria-label={t('files.location')} className="mono">
          <button type="button" style={linkButton} onClick={() => setPath('/')}>
            /
          </button>
          {crumbs.map((c, i) => (
            <span key={i}>
              {i > 0 && '/'}
              <button type="button" style={linkButton} onClick={() => setPath('/' + crumbs.slice(0, i + 1).join('/'))}>
                {c}
              </button>
            </span>
          ))}
        </nav>
        <form onSubmit={go} className="pull-form">
          <input className="search mono" aria-label={t('files.path')} value={typed} onChange={(e) => setTyped(e.target.value)} />
          <button type="submit" className="btn small">
            {t('files.go')}
          </button>
        </form>
        {path !== '/' && (
          <button type="button" className="btn small" onClick={() => setPath(parent(path))}>
            {t('files.up')}
          </button>
        )}
        {view?.kind === 'dir' && !loading && (
          <button type="button" className="btn small" disabled={!!downloading} onClick={() => download(path, true)}>
            {t('files.downloadFolder')}
          </button>
        )}
        <span className="dim small" role="status">
          {loading ? t('files.reading', { size: formatSize(progress) }) : downloading ? t('files.downloading', { path: downloading }) : ''}
        </span>
      </div>
      {error && (
        <Notice kind="error" onClose={() => setError(undefined)}>
          {error}
        </Notice>
      )}
      {loading && !view ? (
        <div className="empty-state">{t('common.loading')}</div>
      ) : view?.kind === 'file' ? (
        <div>
          <h3 className="small mono">
            {view.path} · {formatSize(view.entry.size)}
            <button type="button" className="btn small" style={{ marginLeft: 12 }} disabled={!!downloading} onClick={() => download(view.path, false)}>
              {t('files.download')}
            </button>
          </h3>
          {view.binary ? (
            <div className="empty-state">{t('files.binary')}</div>
          ) : (
            <>
              {view.truncated && <Notice kind="info">{t('files.truncated', { size: formatSize(VIEW_CAP) })}</Notice>}
              <pre className="logs" data-testid="file-content" tabIndex={0}>
                {view.text}
              </pre>
            </>
          )}
        </div>
      ) : view?.kind === 'dir' ? (
        view.entries.length === 0 ? (
          <div className="empty-state">{t('files.empty')}</div>
        ) : (
          <table className="table" aria-label={t('files.table', { path: view.path })} aria-busy={loading}>
            <thead>
              <tr>
                <th>{t('files.name')}</th>
                <th className="num">{t('files.size')}</th>
                <th>{t('files.mode')}</th>
                <th>{t('files.modified')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {view.entries.map((e) => {
                const full = join(view.path, e.name);
                return (
                  <tr key={e.name} data-name={e.name} data-type={e.type}>
                    <td className="mono">
                      {e.type === 'file' || e.type === 'directory' || e.type === 'symlink' ? (
                        <button type="button" style={linkButton} onClick={() => setPath(full)}>
                          {e.name}
                          {e.type === 'directory' ? '/' : ''}
                        </button>
                      ) : (
                        e.name
                      )}
                      {e.type === 'symlink' && <span className="dim"> → {e.linkName}</span>}
                    </td>
                    <td className="num">{e.type === 'file' ? formatSize(e.size) : ''}</td>
                    <td className="mono small">{modeString(e.type, e.mode)}</td>
                    <td className="small">{new Date(e.mtime * 1000).toLocaleString()}</td>
                    <td className="actions">
                      {e.type !== 'symlink' && (
                        <button
                          type="button"
                          className="btn small"
                          disabled={!!downloading}
                          aria-label={t('files.downloadNamed', { name: e.name })}
                          onClick={() => download(full, e.type === 'directory')}
                        >
                          {t('files.download')}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )
      ) : null}
    </div>
  );
}
