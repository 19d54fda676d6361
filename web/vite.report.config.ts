import { defineConfig } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

// The self-contained backtest report: one HTML file, every script and style inlined, so it
// opens from file:// with no network. The Rust side fills the report-data element.
export default defineConfig({
  base: './',
  esbuild: { jsx: 'automatic' },
  plugins: [viteSingleFile({ removeViteModuleLoader: true })],
  build: {
    outDir: 'dist-report',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    rollupOptions: { input: 'report.html' },
  },
});
