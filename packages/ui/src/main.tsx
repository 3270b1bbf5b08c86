import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { graphPath, prefetchJson } from './api/client.ts';
import { App } from './app.tsx';
import { parseRoute } from './router.ts';

// Opening the lineage graph: fetch its data and its code at once, in parallel with rendering.
const first = parseRoute(window.location.hash);
if (first.segments[0] === 'graph') {
  prefetchJson(graphPath(first.query.get('selection') ?? ''));
  void import('./pages/graph-page.tsx');
}

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
