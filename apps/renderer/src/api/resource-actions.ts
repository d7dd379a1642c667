/**
 * Create, inspect and delete for the simple object pages (networks,
 * volumes): each action reports the engine's answer as a notice, so a
 * refusal ("network has active endpoints", "volume is in use") reaches the
 * user word for word.
 */
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useClient } from './hooks.js';
import { messageOf } from './errors.js';
import { useT } from '../i18n/i18n.js';

export interface ResourceNotice {
  kind: 'error' | 'info';
  text: string;
}

export function useResourceActions(kind: 'networks' | 'volumes') {
  const { t } = useT();
  const client = useClient();
  const qc = useQueryClient();
  const [notice, setNotice] = useState<ResourceNotice>();
  const [inspected, setInspected] = useState<{ title: string; data: unknown }>();

  const settle = async (work: () => Promise<string>): Promise<boolean> => {
    setNotice(undefined);
    try {
      setNotice({ kind: 'info', text: await work() });
      return true;
    } catch (err) {
      setNotice({ kind: 'error', text: messageOf(err) });
      return false;
    } finally {
      void qc.invalidateQueries({ queryKey: [kind] });
    }
  };

  return {
    notice,
    clearNotice: () => setNotice(undefined),
    inspected,
    closeInspect: () => setInspected(undefined),
    create: (body: Record<string, unknown>, name: string) =>
      settle(async () => {
        await client.docker('POST', `/${kind}/create`, body);
        return t('common.created', { name });
      }),
    remove: (id: string, name: string) =>
      settle(async () => {
        await client.docker('DELETE', `/${kind}/${encodeURIComponent(id)}`);
        return t('common.deleted', { name });
      }),
    inspect: async (id: string, name: string) => {
      setNotice(undefined);
      try {
        setInspected({ title: name, data: await client.docker('GET', `/${kind}/${encodeURIComponent(id)}`) });
      } catch (err) {
        setNotice({ kind: 'error', text: messageOf(err) });
      }
    },
  };
}
