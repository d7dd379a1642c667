import { screen, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { App } from '../../apps/renderer/src/App.js';
import { ContainersPage } from '../../apps/renderer/src/pages/ContainersPage.js';
import { VolumesPage } from '../../apps/renderer/src/pages/VolumesPage.js';
import { setLang } from '../../apps/renderer/src/i18n/i18n.js';
import { FakeBridge, RUNNING } from './fake-bridge.js';
import { renderWithEngine } from './render.js';

function engine() {
  const bridge = new FakeBridge(RUNNING);
  bridge.docker.set('GET /containers/json?all=1', { status: 200, body: [] });
  bridge.docker.set('GET /images/json', { status: 200, body: [] });
  return bridge;
}

describe('languages', () => {
  test('choosing 中文 in the sidebar turns the page contents Chinese, not only the chrome', async () => {
    window.location.hash = '#/containers';
    renderWithEngine(<App />, { bridge: engine() });
    await screen.findByText(/^No containers yet/);
    await userEvent.selectOptions(screen.getByLabelText('Language'), 'zh');
    expect(await screen.findByRole('heading', { level: 1, name: '容器' })).toBeTruthy();
    expect(screen.getByText('还没有容器。可以在“镜像”页面运行一个，或在“快速入门”中运行教程。')).toBeTruthy();
    expect(screen.getByRole('searchbox', { name: '搜索容器' }).getAttribute('placeholder')).toBe('搜索名称、镜像或 ID');
    const filters = screen.getByRole('radiogroup', { name: '显示' });
    expect(
      within(filters)
        .getAllByRole('radio')
        .map((r) => r.textContent),
    ).toEqual(['全部', '运行中', '已暂停', '已停止']);
    const table = screen.getByRole('table', { name: '容器' });
    expect(
      within(table)
        .getAllByRole('columnheader')
        .map((h) => h.textContent),
    ).toEqual(['', '名称', '镜像', '状态', '端口', '创建时间', '操作']);
    expect(document.documentElement.lang).toBe('zh-CN');
    expect(localStorage.getItem('berth.lang')).toBe('zh');

    await userEvent.selectOptions(screen.getByLabelText('语言'), 'en');
    expect(await screen.findByText(/^No containers yet/)).toBeTruthy();
  });

  test('in Chinese, the engine’s own words stay as they are inside the translated sentence', async () => {
    setLang('zh');
    renderWithEngine(<VolumesPage />);
    expect((await screen.findByTestId('unsupported')).textContent).toBe('此引擎尚不支持数据卷。引擎的回复：page not found。');
    expect(screen.queryByLabelText('新数据卷名称')).toBeNull();
  });

  test('a container row in Chinese: the selection bar keeps the count in bold inside the sentence', async () => {
    setLang('zh');
    const bridge = new FakeBridge(RUNNING);
    bridge.docker.set('GET /containers/json?all=1', {
      status: 200,
      body: [
        {
          Id: 'f'.repeat(64),
          Names: ['/web'],
          Image: 'nginx',
          ImageID: 'x',
          Command: '',
          Created: 0,
          State: 'exited',
          Status: 'Exited (0)',
          Ports: [],
          Labels: {},
        },
      ],
    });
    renderWithEngine(<ContainersPage />, { bridge });
    await userEvent.click(await screen.findByLabelText('选择 web'));
    const selection = screen.getByRole('toolbar', { name: '选中的容器' });
    expect(selection.querySelector('span')!.textContent).toBe('已选择 1 个');
    expect(selection.querySelector('strong')!.textContent).toBe('1');
    expect(within(selection).getByRole('button', { name: '启动' })).toBeTruthy();
    expect(screen.getByRole('button', { name: '启动 web' })).toBeTruthy();
    // The state badge is translated too; the engine's Status text ("Exited (0)") is not shown in the row.
    const row = screen.getByLabelText('选择 web').closest('tr')!;
    expect(row.querySelector('.badge')!.textContent).toBe('已退出');
  });
});
