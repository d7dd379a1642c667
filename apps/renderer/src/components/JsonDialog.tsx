import { useEffect, useRef } from 'react';
import { useT } from '../i18n/i18n.js';
import { CopyButton } from './CopyButton.js';

/** A modal with an object's inspect JSON and a copy button. */
export function JsonDialog({ title, data, onClose }: { title: string; data: unknown; onClose: () => void }) {
  const { t } = useT();
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => dialog.current?.showModal(), []);
  const text = JSON.stringify(data, null, 2);
  return (
    <dialog ref={dialog} className="dialog wide-dialog" onClose={onClose} aria-label={title}>
      <h2>{title}</h2>
      <pre className="json" data-testid="inspect-json" tabIndex={0}>
        {text}
      </pre>
      <div className="dialog-actions">
        <CopyButton text={text} label={t('common.copyJson')} />
        <button type="button" className="btn primary" onClick={() => dialog.current?.close()}>
          {t('common.close')}
        </button>
      </div>
    </dialog>
  );
}
