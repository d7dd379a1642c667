/** Renders a page or component as main.tsx does, but over a FakeBridge: the real client, hooks and query cache. */
import type { ReactNode } from 'react';
import { render } from '@testing-library/react';
import { QueryClient, QueryClientProvider, useQueryClient } from '@tanstack/react-query';
import { BerthClient } from '../../apps/renderer/src/api/client.js';
import { ClientContext, useClient, useEngineSync } from '../../apps/renderer/src/api/hooks.js';
import { FakeBridge, RUNNING } from './fake-bridge.js';
import type { EngineState } from '@berth/api';

/** What App does once: follow the engine's state and events. */
function Sync({ children }: { children: ReactNode }) {
  const client = useClient();
  useEngineSync(client, useQueryClient());
  return <>{children}</>;
}

export function renderWithEngine(ui: ReactNode, opts: { bridge?: FakeBridge; state?: EngineState | null } = {}) {
  const bridge = opts.bridge ?? new FakeBridge(opts.state === null ? undefined : (opts.state ?? RUNNING));
  const client = new BerthClient(bridge);
  // main.tsx's settings: lists are refreshed by events, not timers or focus.
  const qc = new QueryClient({ defaultOptions: { queries: { refetchOnWindowFocus: false, refetchOnReconnect: false, staleTime: Infinity } } });
  // A wrapper, so that rerender() keeps the providers and changes only the props.
  const wrapper = ({ children }: { children: ReactNode }) => (
    <ClientContext.Provider value={client}>
      <QueryClientProvider client={qc}>
        <Sync>{children}</Sync>
      </QueryClientProvider>
    </ClientContext.Provider>
  );
  const result = render(ui, { wrapper });
  return { ...result, bridge, client, qc };
}
