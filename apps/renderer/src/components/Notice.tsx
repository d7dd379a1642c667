import type { ReactNode } from 'react';
import { isUnsupported } from '../api/errors.js';
import { useT } from '../i18n/i18n.js';

/** An inline message: `error` for refusals the user must read, `info` for results. */
export function Notice({ kind, children, onClose }: { kind: 'error' | 'info'; children: ReactNode; onClose?: () => void }) {
  const { t } = useT();
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      <span>{children}</span>
      {onClose && (
        <button className="icon-btn" aria-label={t('common.dismiss')} onClick={onClose}>
          ×
        </button>
      )}
    </div>
  );
}

/** What a table shows under its rows: the engine is down, loading, the engine's refusal, or nothing to list. */
export function TableState(props: { running: boolean; query: { isLoading: boolean; error: unknown }; count: number; emptyText: ReactNode; what?: string }) {
  const { running, query, count, emptyText } = props;
  const { t } = useT();
  if (!running) return <div className="table-state">{t('table.engineDown')}</div>;
  if (query.isLoading) return <div className="table-state">{t('table.loading')}</div>;
  if (isUnsupported(query.error)) {
    return (
      <div className="table-state unsupported" data-testid="unsupported">
        {props.what
          ? t('table.unsupported', { what: props.what, message: (query.error as Error).message })
          : t('table.unsupportedThis', { message: (query.error as Error).message })}
      </div>
    );
  }
  if (query.error) return <div className="table-state error">{query.error instanceof Error ? query.error.message : String(query.error)}</div>;
  if (count === 0) return <div className="table-state">{emptyText}</div>;
  return null;
}
