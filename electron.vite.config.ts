/**
 * electron-vite builds the desktop app into apps/main/dist/electron:
 * main (ESM, Node built-ins and electron external), the preload (CommonJS:
 * sandboxed preloads cannot be ES modules) and the renderer (the same
 * sources web mode serves, built from apps/renderer/index.html).
 * engine/electron-binary.ts launches `main/main.js` from here.
 */
import { defineConfig } from 'electron-vite';
import web from './apps/renderer/vite.config.js';

const out = 'apps/main/dist/electron';

export default defineConfig({
  main: {
    build: {
      outDir: `${out}/main`,
      lib: { entry: 'apps/main/src/electron/main.ts', formats: ['es'] },
    },
  },
  preload: {
    build: {
      outDir: `${out}/preload`,
      lib: { entry: 'apps/main/src/electron/preload.ts', formats: ['cjs'], fileName: () => 'preload.cjs' },
    },
  },
  renderer: {
    ...web,
    root: 'apps/renderer',
    build: {
      ...web.build,
      outDir: `${out}/renderer`,
      rollupOptions: { ...web.build?.rollupOptions, input: 'apps/renderer/index.html' },
    },
  },
});
