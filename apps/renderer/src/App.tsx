import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useClient, useEngineState, useEngineSync } from './api/hooks.js';
import { StatusBar } from './components/StatusBar.js';
import { ContainersPage } from './pages/ContainersPage.js';
import { ImagesPage } from './pages/ImagesPage.js';

const PAGES = {
  containers: { title: 'Containers', icon: '▣', Page: ContainersPage },
  images: { title: 'Images', icon: '◈', Page: ImagesPage },
} as const;
type PageName = keyof typeof PAGES;

/** `#/images` → images; the hash keeps the page across reloads and works under file:// too. */
function pageFromHash(): PageName {
  const name = window.location.hash.replace(/^#\/?/, '');
  return name in PAGES ? (name as PageName) : 'containers';
}

export function App() {
  const client = useClient();
  const qc = useQueryClient();
  const { eventsConnected } = useEngineSync(client, qc);
  const [page, setPage] = useState<PageName>(pageFromHash);
  const engine = useEngineState();

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const { Page } = PAGES[page];
  return (
    <div className="app">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">⚓</span> Berth
        </div>
        <ul>
          {(Object.keys(PAGES) as PageName[]).map((name) => (
            <li key={name}>
              <a href={`#/${name}`} className={name === page ? 'active' : ''} aria-current={name === page ? 'page' : undefined}>
                <span className="nav-icon" aria-hidden="true">{PAGES[name].icon}</span>
                {PAGES[name].title}
              </a>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <span className={`dot status-${engine?.state ?? 'starting'}`} aria-hidden="true" />
          {engine ? `${engine.mode === 'none' ? 'no' : engine.mode} engine` : 'connecting'}
        </div>
      </nav>
      <main className="content">
        <Page />
      </main>
      <StatusBar eventsConnected={eventsConnected} />
    </div>
  );
}
