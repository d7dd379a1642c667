import { useEffect, useRef, useState, type FormEvent } from 'react';
import { CopyButton } from './CopyButton.js';
import { useT } from '../i18n/i18n.js';

/** The shell-quoted `docker build` line for the same build (classic builder, as the engine has no BuildKit). */
export function buildCommand(tag: string, context: string): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `DOCKER_BUILDKIT=0 docker build -t ${q(tag || 'TAG')} ${q(context || 'PATH')}`;
}

/**
 * Takes a folder and a tag. In Electron the folder comes from the system
 * dialog (Browse); in a browser the user types the host path, which main
 * (on the same host) packs. Either way the equivalent command is shown.
 */
export function BuildDialog(props: {
  canPick: boolean;
  pick: () => Promise<string | null>;
  onBuild: (context: string, tag: string) => void;
  onClose: () => void;
}) {
  const { t } = useT();
  const dialog = useRef<HTMLDialogElement>(null);
  const [context, setContext] = useState('');
  const [tag, setTag] = useState('');
  useEffect(() => dialog.current?.showModal(), []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onBuild(context.trim(), tag.trim());
    dialog.current?.close();
  };
  const browse = async () => {
    const dir = await props.pick();
    if (dir) setContext(dir);
  };
  const command = buildCommand(tag.trim(), context.trim());
  return (
    <dialog ref={dialog} className="dialog" onClose={props.onClose} aria-labelledby="build-title">
      <form onSubmit={submit}>
        <h2 id="build-title">{t('builds.dialogTitle')}</h2>
        <div className="form-grid">
          <label className="wide">
            {t('builds.dialogFolder')} <span className="hint">{props.canPick ? t('builds.dialogFolderHintPick') : t('builds.dialogFolderHintType')}</span>
            <span className="pull-form">
              <input value={context} onChange={(e) => setContext(e.target.value)} placeholder="/home/me/project" required autoFocus />
              {props.canPick && (
                <button type="button" className="btn" onClick={() => void browse()}>
                  {t('builds.dialogBrowse')}
                </button>
              )}
            </span>
          </label>
          <label className="wide">
            {t('builds.dialogTag')}
            <input value={tag} onChange={(e) => setTag(e.target.value)} placeholder="myapp:latest" required />
          </label>
        </div>
        <div className="run-line">
          <span className="hint">{t('builds.dialogSame')}</span>
          <span className="toolbar">
            <code data-testid="build-command">{command}</code>
            <CopyButton text={command} />
          </span>
        </div>
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={() => dialog.current?.close()}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="btn primary">
            {t('builds.dialogBuild')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
