import { useState } from 'react';

/** Copies `text` to the clipboard; says so for two seconds. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
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
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed' : label}
    </button>
  );
}
