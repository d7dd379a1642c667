/**
 * Saves a screenshot of every page under tests/e2e/screenshots/ (git-ignored,
 * kept as CI artifacts). No pixel comparison: each page must show its title.
 */
import { describe, test } from 'node:test';
import { useAgent } from '../helpers/agent.js';
import { nav, screenshot, useDashboard } from './web-mode.js';

const agent = useAgent();

const PAGES: [nav: string, heading: string][] = [
  ['Getting started', 'Welcome to Berth'],
  ['Containers', 'Containers'],
  ['Images', 'Images'],
  ['Volumes', 'Volumes'],
  ['Networks', 'Networks'],
  ['Builds', 'Builds'],
  ['Settings', 'Settings'],
  ['Troubleshoot', 'Troubleshoot'],
];

describe('dashboard screenshots, web mode', () => {
  const dash = useDashboard(agent.ready);

  test('every page, one PNG each', async () => {
    for (const [name, heading] of PAGES) {
      await nav(dash.page, name);
      await dash.page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: 10_000 });
      await dash.page.waitForLoadState('networkidle').catch(() => {});
      await screenshot(dash.page, `page-${name.toLowerCase().replace(/\s+/g, '-')}`);
    }
  });
});
