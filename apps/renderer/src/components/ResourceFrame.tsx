import type { ReactNode } from 'react';
import type { useResourceActions } from '../api/resource-actions.js';
import { useT } from '../i18n/i18n.js';
import { JsonDialog } from './JsonDialog.js';
import { Notice } from './Notice.js';

type Actions = ReturnType<typeof useResourceActions>;

/**
 * The frame of the simple object pages (networks, volumes): title, the
 * create form (hidden when the engine lacks the endpoints), the last
 * action's notice, the table, and the inspect dialog.
 */
export function ResourceFrame(props: {
  /** English, for the heading's id: `volume-title`. */
  noun: string;
  title: string;
  subtitle: string;
  /** The inspect dialog's title for an object's name. */
  inspectTitle: (name: string) => string;
  unsupported: boolean;
  form: ReactNode;
  actions: Actions;
  children: ReactNode;
}) {
  const { actions } = props;
  const id = `${props.noun.toLowerCase()}-title`;
  return (
    <section className="page" aria-labelledby={id}>
      <header className="page-header">
        <div>
          <h1 id={id}>{props.title}</h1>
          <p className="subtitle">{props.subtitle}</p>
        </div>
      </header>
      {!props.unsupported && props.form}
      {actions.notice && (
        <Notice kind={actions.notice.kind} onClose={actions.clearNotice}>
          {actions.notice.text}
        </Notice>
      )}
      {props.children}
      {actions.inspected && <JsonDialog title={props.inspectTitle(actions.inspected.title)} data={actions.inspected.data} onClose={actions.closeInspect} />}
    </section>
  );
}

/** Inspect and Delete for one row; `locked` says why it cannot be deleted. */
export function RowActions({ actions, id, name, locked }: { actions: Actions; id: string; name: string; locked?: string }) {
  const { t } = useT();
  return (
    <td className="actions">
      <button className="btn small" onClick={() => void actions.inspect(id, name)} aria-label={t('common.inspectNamed', { name })}>
        {t('common.inspect')}
      </button>
      <button
        className="btn small danger"
        disabled={!!locked}
        title={locked}
        onClick={() => void actions.remove(id, name)}
        aria-label={t('common.deleteNamed', { name })}
      >
        {t('common.delete')}
      </button>
    </td>
  );
}
