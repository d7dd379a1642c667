/**
 * React bindings for the client: the engine's state (pushed by main), the
 * Docker lists as queries, and the one subscription to `GET /events` that
 * keeps them fresh. Nothing polls: a list is refetched when an event says it
 * changed, when the engine (re)starts, or when the event stream reconnects
 * (events may have been missed while it was down).
 */
import { createContext, useContext, useEffect, useState } from 'react';
import { useQuery, type QueryClient } from '@tanstack/react-query';
import type { EngineState } from '@berth/api';
import type { BerthClient } from './client.js';
import type { ContainerInspect, ContainerSummary, EngineEvent, ImageSummary, NetworkSummary, VolumeList } from '@berth/api';

export const ClientContext = createContext<BerthClient | null>(null);

export function useClient(): BerthClient {
  const c = useContext(ClientContext);
  if (!c) throw new Error('useClient() outside <ClientContext.Provider>');
  return c;
}

export const keys = {
  engine: ['engine'] as const,
  containers: ['containers'] as const,
  images: ['images'] as const,
  networks: ['networks'] as const,
  volumes: ['volumes'] as const,
  /** Main's build records (Builds page). */
  builds: ['builds'] as const,
  /** Under `containers`: invalidating the list refreshes every detail view too. */
  container: (id: string) => ['containers', id] as const,
};

/** Which lists an event can change. */
export function keysForEvent(ev: Pick<EngineEvent, 'Type'>): (readonly string[])[] {
  switch (ev.Type) {
    case 'container':
      return [keys.containers, keys.images]; // in-use counts follow containers
    case 'image':
      // A build that ends tags its image: the Builds page may show it still running.
      return [keys.images, keys.containers, keys.builds];
    case 'network':
      return [keys.networks];
    case 'volume':
      return [keys.volumes];
    default:
      return [];
  }
}

/** The engine's state as main pushes it; undefined until the first message. */
export function useEngineState(): EngineState | undefined {
  return useQuery<EngineState>({ queryKey: keys.engine, queryFn: () => new Promise(() => {}), staleTime: Infinity, enabled: false }).data;
}

export function useEngineRunning(): boolean {
  return useEngineState()?.state === 'running';
}

/** Mount once: follows the engine's state and its events, and invalidates queries from them. */
export function useEngineSync(client: BerthClient, qc: QueryClient): { eventsConnected: boolean } {
  const [running, setRunning] = useState(false);
  const [eventsConnected, setConnected] = useState(false);

  useEffect(() => {
    let retry: ReturnType<typeof setTimeout> | undefined;
    let cancel = () => {};
    const follow = () => {
      cancel = client.stream('engineStates', [], {
        item: (s) => {
          qc.setQueryData(keys.engine, s);
          setRunning(s.state === 'running');
        },
        error: (err) => {
          qc.setQueryData<EngineState>(keys.engine, { state: 'error', mode: 'none', message: err.message, canRestart: false });
          setRunning(false);
          retry = setTimeout(follow, 2000);
        },
      });
    };
    follow();
    return () => {
      cancel();
      clearTimeout(retry);
    };
  }, [client, qc]);

  useEffect(() => {
    if (!running) return;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let cancel = () => {};
    let stopped = false;
    const connect = () => {
      // Whatever happened while we were not listening is unknown: refetch.
      void qc.invalidateQueries({ predicate: (q) => q.queryKey[0] !== keys.engine[0] });
      setConnected(true);
      cancel = client.stream('dockerJson', [{ method: 'GET', path: '/events' }], {
        item: (ev) => {
          for (const key of keysForEvent(ev as EngineEvent)) void qc.invalidateQueries({ queryKey: key });
        },
        error: () => reconnect(),
        end: () => reconnect(),
      });
    };
    const reconnect = () => {
      setConnected(false);
      if (!stopped) retry = setTimeout(connect, 2000);
    };
    connect();
    return () => {
      stopped = true;
      cancel();
      clearTimeout(retry);
      setConnected(false);
    };
  }, [client, qc, running]);

  return { eventsConnected };
}

/** A Docker list, fetched while the engine runs and refetched only when invalidated (events). */
function useDockerList<T>(key: readonly string[], path: string) {
  const client = useClient();
  return useQuery({
    queryKey: key,
    queryFn: () => client.docker<T[]>('GET', path),
    enabled: useEngineRunning(),
    staleTime: Infinity,
    retry: false,
  });
}

export const useContainers = () => useDockerList<ContainerSummary>(keys.containers, '/containers/json?all=1');
export const useImages = () => useDockerList<ImageSummary>(keys.images, '/images/json');
export const useNetworks = () => useDockerList<NetworkSummary>(keys.networks, '/networks');

/** Volumes come wrapped in `{Volumes, Warnings}`. */
export function useVolumes() {
  const client = useClient();
  return useQuery({
    queryKey: keys.volumes,
    queryFn: async () => (await client.docker<VolumeList>('GET', '/volumes')).Volumes ?? [],
    enabled: useEngineRunning(),
    staleTime: Infinity,
    retry: false,
  });
}

/** One container's inspect JSON; refreshed by the same events as the list. */
export function useContainerInspect(id: string) {
  const client = useClient();
  return useQuery({
    queryKey: keys.container(id),
    queryFn: () => client.docker<ContainerInspect>('GET', `/containers/${encodeURIComponent(id)}/json`),
    enabled: useEngineRunning(),
    staleTime: Infinity,
    retry: false,
  });
}
