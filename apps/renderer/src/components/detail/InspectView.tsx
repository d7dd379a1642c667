import { useState } from 'react';
import type { ContainerInspect } from '@berth/api';
import { CopyButton } from '../CopyButton.js';
import { useT } from '../../i18n/i18n.js';

/** The engine's inspect JSON, pretty-printed, with a copy button. */
export function InspectView({ data }: { data: ContainerInspect }) {
  const { t } = useT();
  const text = JSON.stringify(data, null, 2);
  const [wrap, setWrap] = useState(false);
  return (
    <div className="inspect-view">
      <div className="logs-toolbar">
        <CopyButton text={text} label={t('detail.copyJson')} />
        <label className="switch">
          <input type="checkbox" checked={wrap} onChange={(e) => setWrap(e.target.checked)} /> {t('detail.wrap')}
        </label>
      </div>
      <pre className={`json${wrap ? ' wrap' : ''}`} data-testid="inspect-json" tabIndex={0}>
        {text}
      </pre>
    </div>
  );
}
