import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * index.html's inline script asks for the lineage graph's data when the page opens on
 * `#/graph`; this names the graph page's JavaScript chunks and styles (hashed by the build) in
 * that script, so that they load at once too, instead of after the app's code has run and
 * imported them.
 */
function graphChunksPreload(): Plugin {
  const MARK = '/* dag:graph-chunks */ []';
  return {
    name: 'dag-graph-chunks-preload',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        if (!html.includes(MARK)) throw new Error(`index.html lost its '${MARK}' marker`);
        const chunks = Object.values(ctx.bundle ?? {}).flatMap((c) => (c.type === 'chunk' ? [c] : []));
        const page = chunks.find((c) => c.facadeModuleId?.endsWith('/src/pages/graph-page.tsx'));
        if (!page) throw new Error('the build has no chunk for src/pages/graph-page.tsx');
        // The chunks index.html loads anyway are left out; the page's styles come too (only
        // fetched there: vite's loader applies them later, from the browser's cache).
        const css = [...(page.viteMetadata?.importedCss ?? [])];
        if (css.length === 0) throw new Error('the graph page chunk names no stylesheet');
        const files = [page.fileName, ...page.imports, ...css]
          .map((f) => `./${f}`)
          .filter((f) => !html.includes(f));
        return html.replace(MARK, JSON.stringify(files));
      },
    },
  };
}

/**
 * `vite build` → packages/ui/dist, served by `dag dev` as static files (hash routing: no
 * server-side fallback needed). `vite` (dev) proxies /api to a running `dag dev` (DAG_DEV_URL,
 * default http://127.0.0.1:3000).
 */
export default defineConfig({
  base: './',
  plugins: [react(), graphChunksPreload()],
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
