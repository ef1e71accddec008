import { defineConfig } from 'vite';

export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: { '^/(api|auth|jobs|messages|devices|orders|sync|ws|socket.io|docs|health)': { target: 'http://127.0.0.1:5000', ws: true } } },
});
