import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { parseRoute } from './router.ts';

// Opening the lineage graph: fetch its code at once, in parallel with rendering (index.html
// has already asked for its data).
if (parseRoute(window.location.hash).segments[0] === 'graph') void import('./pages/graph-page.tsx');

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
