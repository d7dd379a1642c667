import { screen, waitFor } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { SettingsPage } from '../../apps/renderer/src/pages/SettingsPage.js';
import type { DashboardSettings } from '@berth/api';
import { FakeBridge, RUNNING } from './fake-bridge.js';
import { renderWithEngine } from './render.js';

const SAVED: DashboardSettings = { cpus: 2, memoryMiB: 2048, diskGiB: 20, accelerator: 'auto', fileShares: ['/home'], engineMode: 'vm' };

function engine() {
  const bridge = new FakeBridge({ ...RUNNING, mode: 'vm' });
  const changes: Partial<DashboardSettings>[] = [];
  bridge.handlers.set('settings', () => SAVED);
  bridge.handlers.set('updateSettings', (change) => {
    const c = change as Partial<DashboardSettings>;
    // Main validates and names the bad field, as settings.ts does.
    if (c.memoryMiB !== undefined && c.memoryMiB > 65536) throw new Error('memoryMiB: at most 65536 (64 GiB)');
    if (c.cpus !== undefined && c.cpus < 1) throw new Error('cpus: at least 1');
    changes.push(c);
    return { ...SAVED, ...c };
  });
  return { bridge, changes };
}

/** Opens the page, waits for the saved value in the field, types `value` and saves. */
async function saveField(label: RegExp, shown: string, value: string) {
  const { bridge, changes } = engine();
  renderWithEngine(<SettingsPage />, { bridge });
  const field = (await screen.findByLabelText(label)) as HTMLInputElement;
  await waitFor(() => expect(field.value).toBe(shown));
  await userEvent.fill(field, value);
  await userEvent.click(screen.getByRole('button', { name: 'Save' }));
  return { field, changes };
}

describe('SettingsPage', () => {
  test('the form leaves validation to main (noValidate): an out-of-range value comes back refused by name; a valid change sends only what changed', async () => {
    const { field: cpus, changes } = await saveField(/^CPUs/, '2', '0');
    expect((await screen.findByRole('alert')).textContent).toContain('cpus: at least 1');
    expect(changes).toEqual([]);
    expect(screen.queryByTestId('restart-needed')).toBeNull();
    await userEvent.fill(cpus, '4');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('Saved. The engine uses the new settings at its next start.');
    expect(changes).toEqual([{ cpus: 4 }]);
    expect(screen.getByTestId('restart-needed')).toBeTruthy();
  });

  test('main’s refusal names the field; a relative share path is refused on the page', async () => {
    const { changes } = await saveField(/^Memory/, '2048', '131072');
    expect((await screen.findByRole('alert')).textContent).toContain('memoryMiB: at most 65536 (64 GiB)');
    expect(changes).toEqual([]);

    await userEvent.fill(screen.getByLabelText('Folder to share'), 'projects/app');
    await userEvent.click(screen.getByRole('button', { name: 'Add' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('"projects/app" is not an absolute folder path.'));
  });
});
