import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useClient } from '../../api/hooks.js';
import { messageOf } from '../../api/errors.js';
import { LineAssembler, MuxDecoder, type OutputStream } from '../../lib/mux-stream.js';
import { Notice } from '../Notice.js';
import { useT } from '../../i18n/i18n.js';

interface LogLine {
  n: number;
  stream: OutputStream;
  /** RFC 3339 with nanoseconds, as the engine stamped it. */
  time: string;
  text: string;
}

/** Lines kept in the view; older ones scroll away. */
const MAX_LINES = 5000;

/** Splits `2024-01-01T00:00:00.123456789Z text` (logs asked with timestamps=1). */
function splitTimestamp(line: string): { time: string; text: string } {
  const sp = line.indexOf(' ');
  return sp > 0 && /^\d{4}-\d\d-\d\dT/.test(line) ? { time: line.slice(0, sp), text: line.slice(sp + 1) } : { time: '', text: line };
}

/**
 * A container's logs, live: the last lines, then each new one while it runs
 * (`follow=1`). Always fetched with timestamps, so the toggle only changes
 * the view. `startedAt` re-opens the stream when the container restarts.
 */
export function LogsView({ id, tty, startedAt }: { id: string; tty: boolean; startedAt: string }) {
  const { t } = useT();
  const client = useClient();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<string>();
  const [live, setLive] = useState(false);
  const [follow, setFollow] = useState(true);
  const [timestamps, setTimestamps] = useState(false);
  const [search, setSearch] = useState('');
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setLines([]);
    setError(undefined);
    setLive(true);
    const decoder = new MuxDecoder(tty);
    const assembler = new LineAssembler();
    let n = 0;
    let batch: LogLine[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Lines arrive in bursts: render at most every 50 ms.
    const flush = () => {
      timer = undefined;
      const add = batch;
      batch = [];
      setLines((old) => {
        const next = old.concat(add);
        return next.length > MAX_LINES ? next.slice(-MAX_LINES) : next;
      });
    };
    const take = (parts: { stream: OutputStream; text: string }[]) => {
      for (const p of parts) batch.push({ n: n++, stream: p.stream, ...splitTimestamp(p.text) });
      if (batch.length && !timer) timer = setTimeout(flush, 50);
    };
    const cancel = client.dockerBytes(`/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&follow=1&timestamps=1&tail=1000`, {
      item: (chunk) => {
        try {
          for (const f of decoder.push(chunk)) take(assembler.push(f));
        } catch (err) {
          setError(messageOf(err));
        }
      },
      error: (err) => {
        setError(err.message);
        setLive(false);
      },
      end: () => {
        take(assembler.end());
        setLive(false);
      },
    });
    return () => {
      cancel();
      clearTimeout(timer);
    };
  }, [client, id, tty, startedAt]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow, timestamps]);

  const needle = search.toLowerCase();
  const shown = useMemo(() => (needle ? lines.filter((l) => l.text.toLowerCase().includes(needle)) : lines), [lines, needle]);

  return (
    <div className="logs-view">
      <div className="logs-toolbar">
        <input
          className="search"
          type="search"
          placeholder={t('detail.logs.search')}
          aria-label={t('detail.logs.search')}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <label className="switch">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> {t('detail.logs.follow')}
        </label>
        <label className="switch">
          <input type="checkbox" checked={timestamps} onChange={(e) => setTimestamps(e.target.checked)} /> {t('detail.logs.timestamps')}
        </label>
        <span className="dim small" data-testid="logs-count">
          {needle ? t('detail.logs.countOf', { shown: shown.length, all: lines.length }) : t('detail.logs.count', { count: lines.length })} ·{' '}
          {live ? t('detail.logs.live') : t('detail.logs.ended')}
        </span>
      </div>
      {error && <Notice kind="error">{error}</Notice>}
      <div
        className="logs"
        ref={box}
        role="log"
        aria-label={t('detail.logs.label')}
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 4;
          if (!atBottom && follow) setFollow(false);
        }}
      >
        {shown.length === 0 && (
          <div className="logs-empty">{lines.length ? t('detail.logs.noMatch') : live ? t('detail.logs.waiting') : t('detail.logs.none')}</div>
        )}
        {shown.map((l) => (
          <div key={l.n} className={`log-line ${l.stream}`}>
            {timestamps && <span className="log-time">{l.time}</span>}
            <span className="log-text">{needle ? highlight(l.text, needle) : l.text}</span>
          </div>
        ))}
      </div>
    </div>
  );
}

function highlight(text: string, needle: string) {
  const out: ReactNode[] = [];
  const lower = text.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, at)) {
    out.push(text.slice(at, i), <mark key={i}>{text.slice(i, i + needle.length)}</mark>);
    at = i + needle.length;
  }
  out.push(text.slice(at));
  return out;
}
