import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useClient, useEngineState, useEngineSync } from './api/hooks.js';
import { StatusBar } from './components/StatusBar.js';
import { BuildsPage } from './pages/BuildsPage.js';
import { ContainerDetailPage, DETAIL_TABS, type DetailTab } from './pages/ContainerDetailPage.js';
import { ContainersPage } from './pages/ContainersPage.js';
import { ImagesPage } from './pages/ImagesPage.js';
import { NetworksPage } from './pages/NetworksPage.js';
import { SettingsPage } from './pages/SettingsPage.js';
import { TroubleshootPage } from './pages/TroubleshootPage.js';
import { VolumesPage } from './pages/VolumesPage.js';
import { WelcomePage, welcomeDismissed } from './pages/WelcomePage.js';
import { LANGUAGES, setLang, useT, type Lang } from './i18n/i18n.js';

const PAGES = {
  welcome: { title: 'page.welcome', icon: '★', Page: WelcomePage },
  containers: { title: 'page.containers', icon: '▣', Page: ContainersPage },
  images: { title: 'page.images', icon: '◈', Page: ImagesPage },
  volumes: { title: 'page.volumes', icon: '◍', Page: VolumesPage },
  networks: { title: 'page.networks', icon: '⇄', Page: NetworksPage },
  builds: { title: 'page.builds', icon: '⚒', Page: BuildsPage },
  settings: { title: 'page.settings', icon: '☰', Page: SettingsPage },
  troubleshoot: { title: 'page.troubleshoot', icon: '⚙', Page: TroubleshootPage },
} as const;
type PageName = keyof typeof PAGES;

type Route = { page: PageName } | { page: 'containers'; container: string; tab: DetailTab };

/**
 * `#/images` → images, `#/containers/ID/logs` → a container's page; the
 * hash keeps the page across reloads and works under file:// too. No hash:
 * the welcome page until it is dismissed, then Containers.
 */
function routeFromHash(): Route {
  const [name = '', id, tab] = window.location.hash.replace(/^#\/?/, '').split('/');
  if (name === 'containers' && id)
    return { page: 'containers', container: decodeURIComponent(id), tab: tab && tab in DETAIL_TABS ? (tab as DetailTab) : 'logs' };
  if (name in PAGES) return { page: name as PageName };
  return { page: welcomeDismissed() ? 'containers' : 'welcome' };
}

export function App() {
  const client = useClient();
  const qc = useQueryClient();
  const { eventsConnected } = useEngineSync(client, qc);
  const [route, setRoute] = useState<Route>(routeFromHash);
  const page = route.page;
  const engine = useEngineState();
  const { t, lang } = useT();

  useEffect(() => {
    const onHash = () => setRoute(routeFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const { Page } = PAGES[page];
  const body = 'container' in route ? <ContainerDetailPage key={route.container} id={route.container} tab={route.tab} /> : <Page />;
  return (
    <div className="app">
      <nav className="sidebar" aria-label={t('nav.main')}>
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ⚓
          </span>{' '}
          Berth
        </div>
        <ul>
          {(Object.keys(PAGES) as PageName[]).map((name) => (
            <li key={name}>
              <a href={`#/${name}`} className={name === page ? 'active' : ''} aria-current={name === page ? 'page' : undefined}>
                <span className="nav-icon" aria-hidden="true">
                  {PAGES[name].icon}
                </span>
                {t(PAGES[name].title)}
              </a>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <span className={`dot status-${engine?.state ?? 'starting'}`} aria-hidden="true" />
          {engine ? (engine.mode === 'none' ? t('sidebar.noEngine') : t('sidebar.engine', { mode: engine.mode })) : t('sidebar.connecting')}
        </div>
        <div className="sidebar-lang">
          <select aria-label={t('lang.label')} value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
            {(Object.keys(LANGUAGES) as Lang[]).map((l) => (
              <option key={l} value={l} lang={l === 'zh' ? 'zh-CN' : 'en'}>
                {LANGUAGES[l]}
              </option>
            ))}
          </select>
        </div>
      </nav>
      <main className="content">{body}</main>
      <StatusBar eventsConnected={eventsConnected} />
    </div>
  );
}
