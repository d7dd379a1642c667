/**
 * English and Simplified Chinese: the sidebar's language menu switches the
 * sidebar, the page title and the status bar at once, the choice survives a
 * reload, and switching back restores English.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useAgent } from '../helpers/agent.js';
import { nav, screenshot, useDashboard } from './web-mode.js';

const agent = useAgent();

describe('dashboard languages, web mode', () => {
  const dash = useDashboard(agent.ready);

  before(() => nav(dash.page, 'Images'));

  test('switching to 中文 translates the sidebar, the page title and the status bar, and is remembered', async () => {
    await dash.page.getByLabel('Language').selectOption('zh');
    const sidebar = dash.page.getByRole('navigation', { name: '主菜单' });
    await sidebar.getByRole('link', { name: '容器' }).waitFor({ timeout: 5_000 });
    assert.equal(await dash.page.getByRole('heading', { level: 1 }).textContent(), '镜像');
    assert.match((await dash.page.getByTestId('engine-status').textContent()) ?? '', /引擎运行中/);
    assert.equal(await dash.page.locator('html').getAttribute('lang'), 'zh-CN');
    await screenshot(dash.page, 'images-zh');

    await dash.page.reload();
    await dash.page.getByRole('heading', { level: 1, name: '镜像' }).waitFor({ timeout: 10_000 });
    await sidebar.getByRole('link', { name: '故障排除' }).click();
    await dash.page.getByRole('heading', { level: 1, name: '故障排除' }).waitFor({ timeout: 5_000 });
  });

  test('switching back to English restores it', async () => {
    await dash.page.getByLabel('语言').selectOption('en');
    await dash.page.getByRole('heading', { level: 1, name: 'Troubleshoot' }).waitFor({ timeout: 5_000 });
    await nav(dash.page, 'Containers');
    // The click only starts the route change: wait for the page it leads to before reading the title.
    await dash.page.getByRole('heading', { level: 1, name: 'Containers', exact: true }).waitFor({ timeout: 5_000 });
    assert.equal(await dash.page.getByRole('heading', { level: 1 }).textContent(), 'Containers');
    assert.match((await dash.page.getByTestId('engine-status').textContent()) ?? '', /Engine running/);
  });
});
