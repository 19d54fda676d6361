import { defineConfig } from 'vite';

// The operator console: dist/index.html + dist/assets/* (hashed), served by the stratbox
// binary under a strict CSP, so nothing may be inlined into index.html.
export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    rollupOptions: { input: 'index.html' },
  },
  server: {
    proxy: {
      '/v1': { target: process.env.STRATBOX_URL ?? 'http://127.0.0.1:18080', ws: true },
    },
  },
});
