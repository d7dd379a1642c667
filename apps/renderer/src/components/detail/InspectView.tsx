import { useState } from 'react';
import type { ContainerInspect } from '../../api/docker-types.js';
import { CopyButton } from '../CopyButton.js';

/** The engine's inspect JSON, pretty-printed, with a copy button. */
export function InspectView({ data }: { data: ContainerInspect }) {
  const text = JSON.stringify(data, null, 2);
  const [wrap, setWrap] = useState(false);
  return (
    <div className="inspect-view">
      <div className="logs-toolbar">
        <CopyButton text={text} label="Copy JSON" />
        <label className="switch">
          <input type="checkbox" checked={wrap} onChange={(e) => setWrap(e.target.checked)} /> Wrap lines
        </label>
      </div>
      <pre className={`json${wrap ? ' wrap' : ''}`} data-testid="inspect-json" tabIndex={0}>
        {text}
      </pre>
    </div>
  );
}
