/**
 * The web-mode token, on the page's side. `berth web` links to
 * `http://127.0.0.1:PORT/#token=TOKEN`: a fragment is never sent to any
 * server, and cookies are out because they are not scoped by port (every
 * other 127.0.0.1 server would receive them, issue #15). On first load the
 * token moves to sessionStorage, which is per origin (port included) and per
 * tab, so a reload keeps working, and leaves the address bar and the history
 * through history.replaceState. The HTTP bridge sends it as X-Berth-Token.
 */
const KEY = 'berth-token';

/** The token from the fragment (kept for the tab), else the one kept; undefined when neither. */
export function takeWebToken(loc: Location = window.location, storage: Storage = window.sessionStorage): string | undefined {
  const fromLink = new URLSearchParams(loc.hash.replace(/^#/, '')).get('token');
  if (fromLink) {
    storage.setItem(KEY, fromLink);
    history.replaceState(history.state, '', loc.pathname + loc.search);
    return fromLink;
  }
  return storage.getItem(KEY) ?? undefined;
}
