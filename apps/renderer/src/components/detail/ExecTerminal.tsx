import { useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { useClient } from '../../api/hooks.js';
import type { Session } from '../../api/client.js';
import { messageOf } from '../../api/errors.js';
import { useT } from '../../i18n/i18n.js';

type Phase = 'connecting' | 'open' | 'ended';

/**
 * A shell in a running container: `POST /containers/{id}/exec` with a TTY,
 * then `/exec/{id}/start` hijacked through main (a session), drawn by
 * xterm.js. The terminal follows its box's size and tells the engine
 * (`/exec/{id}/resize`). "New shell" starts another after one ended.
 */
export function ExecTerminal({ id, shell }: { id: string; shell: string }) {
  const { t } = useT();
  const client = useClient();
  const box = useRef<HTMLDivElement>(null);
  const [phase, setPhase] = useState<Phase>('connecting');
  const [problem, setProblem] = useState<string>();
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
      fontSize: 13,
      theme: { background: '#0f172a', foreground: '#e2e8f0', cursor: '#38bdf8' },
      scrollback: 5000,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    fit.fit();
    setPhase('connecting');
    setProblem(undefined);

    let disposed = false;
    let session: Session | undefined;
    let execId: string | undefined;
    let spoke = false;
    const resize = () => {
      if (execId) void client.docker('POST', `/exec/${execId}/resize?h=${term.rows}&w=${term.cols}`).catch(() => {});
    };

    void (async () => {
      try {
        const created = await client.docker<{ Id: string }>('POST', `/containers/${encodeURIComponent(id)}/exec`, {
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Tty: true,
          Env: ['TERM=xterm-256color'],
          Cmd: [shell],
        });
        if (disposed) return;
        execId = created.Id;
        session = client.session(
          'POST',
          `/exec/${created.Id}/start`,
          { Detach: false, Tty: true, ConsoleSize: [term.rows, term.cols] },
          {
            open: () => {
              setPhase('open');
              resize();
              term.focus();
            },
            data: (bytes) => {
              // The engine may take a resize sent before the process existed as a no-op: repeat it once the shell speaks.
              if (!spoke) resize();
              spoke = true;
              term.write(bytes);
            },
            end: (err) => {
              if (disposed) return;
              setPhase('ended');
              if (err) setProblem(err.message);
              term.write('\r\n\x1b[2m[the shell ended]\x1b[0m\r\n');
            },
          },
        );
      } catch (err) {
        if (disposed) return;
        setPhase('ended');
        setProblem(messageOf(err));
      }
    })();

    const typed = term.onData((d) => session?.send(d));
    const binary = term.onBinary((d) => session?.send(Uint8Array.from(d, (c) => c.charCodeAt(0))));
    let pending: ReturnType<typeof setTimeout> | undefined;
    const observer = new ResizeObserver(() => {
      clearTimeout(pending);
      pending = setTimeout(() => {
        const before = `${term.cols}x${term.rows}`;
        fit.fit();
        if (`${term.cols}x${term.rows}` !== before) resize();
      }, 60);
    });
    observer.observe(el);

    return () => {
      disposed = true;
      observer.disconnect();
      clearTimeout(pending);
      typed.dispose();
      binary.dispose();
      session?.close();
      term.dispose();
    };
  }, [client, id, shell, generation]);

  return (
    <div className="terminal-view">
      <div className="terminal-bar">
        <span className={`dot ${phase === 'open' ? 'status-running' : phase === 'connecting' ? 'status-starting' : 'status-stopped'}`} aria-hidden="true" />
        <span data-testid="terminal-state" data-phase={phase}>
          {phase === 'open' ? t('detail.term.open', { shell }) : phase === 'connecting' ? t('detail.term.connecting') : t('detail.term.ended')}
        </span>
        {problem && <span className="status-error">{problem}</span>}
        {phase === 'ended' && (
          <button className="btn small" onClick={() => setGeneration((g) => g + 1)}>
            {t('detail.term.newShell')}
          </button>
        )}
      </div>
      <div className="terminal" ref={box} data-testid="terminal" />
    </div>
  );
}
