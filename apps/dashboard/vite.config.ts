import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/**
 * The dashboard is built into dist/apps/dashboard, which the orchestration app serves at /ui
 * (apps/orchestration/src/http/ui.controller.ts); `npm run build` runs this build.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL('../../dist/apps/dashboard', import.meta.url)),
    emptyOutDir: true,
    // The layout library is most of the bundle; one file is fine for a page loaded once.
    chunkSizeWarningLimit: 1024,
  },
  // `vite dev` proxies the API to a local orchestration app.
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
