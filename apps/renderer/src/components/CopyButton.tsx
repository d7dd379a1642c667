import { useState } from 'react';
import { useT } from '../i18n/i18n.js';

/** Copies `text` to the clipboard; says so for two seconds. */
export function CopyButton({ text, label }: { text: string; label?: string }) {
  const { t } = useT();
  const [done, setDone] = useState<'copied' | 'failed'>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone('copied');
    } catch {
      // No clipboard permission (an old browser, an insecure origin): the selection way.
      const area = document.createElement('textarea');
      area.value = text;
      document.body.append(area);
      area.select();
      setDone(document.execCommand('copy') ? 'copied' : 'failed');
      area.remove();
    }
    setTimeout(() => setDone(undefined), 2000);
  };
  return (
    <button type="button" className="btn small" onClick={() => void copy()}>
      {done === 'copied' ? t('common.copied') : done === 'failed' ? t('common.copyFailed') : (label ?? t('common.copy'))}
    </button>
  );
}
