import { useState } from 'react';
import { fillNodes, useT, type T } from '../i18n/i18n.js';
import { useQueryClient } from '@tanstack/react-query';
import type { BundledImagesState } from '@berth/api';
import type { BerthClient } from '../api/client.js';
import { ApiError } from '../api/client.js';
import { keys, useClient, useEngineRunning } from '../api/hooks.js';
import type { ContainerCreateResponse, ContainerInspect } from '@berth/api';
import { messageOf } from '../api/errors.js';
import { Notice } from '../components/Notice.js';
import { LineAssembler, MuxDecoder } from '../lib/mux-stream.js';
import {
  HELLO_IMAGE,
  isPortProblem,
  publishedPort,
  TUTORIAL_IMAGE,
  TUTORIAL_NAME,
  TUTORIAL_PORTS,
  tutorialCreateBody,
  tutorialRunLine,
} from '../lib/tutorial.js';

const DISMISSED = 'berth.welcome.dismissed';

/** Whether the welcome page opens by itself (first start, until dismissed). */
export function welcomeDismissed(): boolean {
  return localStorage.getItem(DISMISSED) === '1';
}

/** Makes sure the bundled image is in the engine (loading it if needed); throws what stands in the way. */
async function needBundled(client: BerthClient, t: T, tag: string): Promise<void> {
  const state: BundledImagesState = await client.call('bundledImages');
  if (state.problem) throw new Error(state.problem);
  const img = state.images.find((i) => i.tag === tag || i.tag === `${tag}:latest`);
  if (!img) throw new Error(t('welcome.notBundled', { tag }));
  if (img.status === 'missing') throw new Error(img.message ?? t('welcome.notLoaded', { tag }));
}

async function inspectOrUndefined(client: BerthClient, name: string): Promise<ContainerInspect | undefined> {
  try {
    return await client.docker<ContainerInspect>('GET', `/containers/${name}/json`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

interface TutorialResult {
  port: number;
  /** Why the tutorial is not on port 80. */
  fallback?: string;
}

/**
 * Runs the tutorial as `docker run -d -p 80:80 --name getting-started` does,
 * reusing a getting-started container already there; when the start fails
 * for the host port, tries the next port of TUTORIAL_PORTS.
 */
async function runTutorial(client: BerthClient, t: T): Promise<TutorialResult> {
  await needBundled(client, t, TUTORIAL_IMAGE);
  const existing = await inspectOrUndefined(client, TUTORIAL_NAME);
  if (existing?.State.Running) {
    const port = publishedPort(existing.NetworkSettings?.Ports);
    if (port) return { port, ...(port !== 80 ? { fallback: t('welcome.alreadyRunning', { port }) } : {}) };
  }
  let firstRefusal: string | undefined;
  if (existing) {
    try {
      await client.docker('POST', `/containers/${existing.Id}/start`);
      const port = publishedPort((await client.docker<ContainerInspect>('GET', `/containers/${existing.Id}/json`)).NetworkSettings?.Ports);
      if (port) return { port };
    } catch (err) {
      if (!isPortProblem(messageOf(err))) throw err;
      firstRefusal = messageOf(err);
    }
    await client.docker('DELETE', `/containers/${existing.Id}?force=1`);
  }
  for (const port of TUTORIAL_PORTS) {
    const created = await client.docker<ContainerCreateResponse>('POST', `/containers/create?name=${TUTORIAL_NAME}`, tutorialCreateBody(port));
    try {
      await client.docker('POST', `/containers/${created.Id}/start`);
      const refusal = firstRefusal ?? (port !== 80 ? t('welcome.port80Busy') : undefined);
      return { port, ...(port !== 80 ? { fallback: t('welcome.portFallback', { reason: refusal ?? '', port }) } : {}) };
    } catch (err) {
      await client.docker('DELETE', `/containers/${created.Id}?force=1`).catch(() => {});
      if (!isPortProblem(messageOf(err))) throw err;
      firstRefusal ??= messageOf(err);
    }
  }
  throw new Error(t('welcome.noPort', { ports: TUTORIAL_PORTS.join(', '), reason: firstRefusal ?? '' }));
}

/** `docker run --rm berth/hello-world`: create, start, wait, read its output, remove. */
async function runHello(client: BerthClient, t: T): Promise<string> {
  await needBundled(client, t, HELLO_IMAGE);
  const created = await client.docker<ContainerCreateResponse>('POST', '/containers/create', { Image: HELLO_IMAGE });
  try {
    await client.docker('POST', `/containers/${created.Id}/start`);
    await client.docker('POST', `/containers/${created.Id}/wait`);
    return await new Promise<string>((resolve, reject) => {
      const decoder = new MuxDecoder();
      const lines = new LineAssembler();
      const out: string[] = [];
      client.dockerBytes(`/containers/${created.Id}/logs?stdout=1&stderr=1`, {
        item: (chunk) => {
          for (const f of decoder.push(chunk)) out.push(...lines.push(f).map((l) => l.text));
        },
        error: reject,
        end: () => resolve([...out, ...lines.end().map((l) => l.text)].join('\n')),
      });
    });
  } finally {
    await client.docker('DELETE', `/containers/${created.Id}?force=1`).catch(() => {});
  }
}

/** The first-run page: the tutorial in one click, hello-world's message, and where to go next. */
export function WelcomePage() {
  const { t } = useT();
  const client = useClient();
  const qc = useQueryClient();
  const running = useEngineRunning();
  const [dismissed, setDismissed] = useState(welcomeDismissed);
  const [tutorial, setTutorial] = useState<{ busy: boolean; result?: TutorialResult; error?: string }>({ busy: false });
  const [hello, setHello] = useState<{ busy: boolean; output?: string; error?: string }>({ busy: false });

  const startTutorial = async () => {
    setTutorial({ busy: true });
    try {
      const result = await runTutorial(client, t);
      setTutorial({ busy: false, result });
      void client.openExternal(`http://localhost:${result.port}`).catch(() => {});
    } catch (err) {
      setTutorial({ busy: false, error: messageOf(err) });
    }
    void qc.invalidateQueries({ queryKey: keys.containers });
  };

  const startHello = async () => {
    setHello({ busy: true });
    try {
      setHello({ busy: false, output: await runHello(client, t) });
    } catch (err) {
      setHello({ busy: false, error: messageOf(err) });
    }
  };

  const dismiss = () => {
    localStorage.setItem(DISMISSED, '1');
    setDismissed(true);
    window.location.hash = '#/containers';
  };

  const port = tutorial.result?.port ?? 80;
  const url = `http://localhost:${port}`;
  return (
    <section className="page welcome" aria-labelledby="welcome-title">
      <header className="page-header">
        <div>
          <h1 id="welcome-title">{t('welcome.title')}</h1>
          <p className="subtitle">{t('welcome.subtitle')}</p>
        </div>
        {!dismissed && (
          <div className="toolbar">
            <button className="btn ghost" onClick={dismiss}>
              {t('welcome.dismiss')}
            </button>
          </div>
        )}
      </header>

      <div className="welcome-grid">
        <article className="card welcome-card">
          <h2>{t('welcome.tutorialTitle')}</h2>
          <p>{t('welcome.tutorialText')}</p>
          <code className="command" data-testid="tutorial-command">
            {tutorialRunLine(port)}
          </code>
          <div className="card-actions">
            <button className="btn primary" disabled={!running || tutorial.busy} onClick={() => void startTutorial()}>
              {tutorial.busy ? t('welcome.tutorialStarting') : tutorial.result ? t('welcome.tutorialAgain') : t('welcome.tutorialRun')}
            </button>
          </div>
          {tutorial.result?.fallback && <Notice kind="info">{tutorial.result.fallback}</Notice>}
          {tutorial.result && (
            <p className="result" data-testid="tutorial-result">
              {t('welcome.tutorialRunning')}{' '}
              <a href={url} target="_blank" rel="noreferrer" data-testid="tutorial-link" onClick={(e) => (e.preventDefault(), void client.openExternal(url))}>
                {url}
              </a>
            </p>
          )}
          {tutorial.error && <Notice kind="error">{tutorial.error}</Notice>}
        </article>

        <article className="card welcome-card">
          <h2>{t('welcome.helloTitle')}</h2>
          <p>{t('welcome.helloText')}</p>
          <code className="command">docker run --rm {HELLO_IMAGE}</code>
          <div className="card-actions">
            <button className="btn" disabled={!running || hello.busy} onClick={() => void startHello()}>
              {hello.busy ? t('welcome.helloRunning') : t('welcome.helloRun')}
            </button>
          </div>
          {hello.output !== undefined && (
            <pre className="hello-output" data-testid="hello-output">
              {hello.output}
            </pre>
          )}
          {hello.error && <Notice kind="error">{hello.error}</Notice>}
        </article>
      </div>

      <article className="card welcome-next">
        <h2>{t('welcome.next')}</h2>
        <ul>
          <li>{fillNodes(t('welcome.nextImages'), { images: <a href="#/images">{t('page.images')}</a> })}</li>
          <li>{fillNodes(t('welcome.nextContainers'), { containers: <a href="#/containers">{t('page.containers')}</a> })}</li>
          <li>{t('welcome.nextStays', { welcome: t('page.welcome') })}</li>
        </ul>
      </article>
      {!running && <div className="empty-state">{t('welcome.engineDown')}</div>}
    </section>
  );
}
