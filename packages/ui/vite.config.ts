import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * `vite build` → packages/ui/dist, served by `dag dev` as static files (hash routing: no
 * server-side fallback needed). `vite` (dev) proxies /api to a running `dag dev` (DAG_DEV_URL,
 * default http://127.0.0.1:3000).
 */
export default defineConfig({
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/api': { target: process.env.DAG_DEV_URL ?? 'http://127.0.0.1:3000', changeOrigin: false } },
  },
});
