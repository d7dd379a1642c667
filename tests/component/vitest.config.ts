/**
 * Component tests: the renderer's pages and components rendered by React in a
 * real Chromium (Vitest browser mode, driven by Playwright), against a fake
 * transport (fake-bridge.ts) in place of Electron's IPC or web mode's HTTP.
 * The system's Chromium (Debian's `chromium` package, also used by the
 * dashboard suite): nothing is downloaded.
 *
 *   npx vitest run --config tests/component/vitest.config.ts
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['tests/component/**/*.test.tsx'],
    setupFiles: ['tests/component/setup.ts'],
    // One file at a time: the test machines have two cores, shared with the other suites.
    fileParallelism: false,
    browser: {
      enabled: true,
      headless: true,
      // Chromium's start on a loaded machine can take more than the default minute.
      connectTimeout: 180_000,
      screenshotFailures: false,
      provider: playwright({
        launchOptions: {
          executablePath: process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium',
          args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
        },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
