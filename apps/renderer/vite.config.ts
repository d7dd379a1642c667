/**
 * Builds the renderer for web mode: `vite build apps/renderer` writes
 * apps/renderer/dist, served by apps/main/src/web. electron.vite.config.ts
 * builds the same sources for the Electron window. Relative asset URLs work
 * under both http:// and file://.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      // react-query marks its modules "use client" for server components; a client bundle ignores it.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
