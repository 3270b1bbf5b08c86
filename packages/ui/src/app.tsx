import { lazy, Suspense, useEffect, useState } from 'react';
import { Loading } from './components/common.tsx';
import { LoadErrorBanner, ReloadButton, useDefinitionsStatus } from './components/definitions-status.tsx';
import { AssetPage } from './pages/asset-page.tsx';
import { SchedulesPage, SensorsPage } from './pages/automation-pages.tsx';
import { BackfillsPage } from './pages/backfills-page.tsx';
import { CatalogPage } from './pages/catalog-page.tsx';
import { InstancePage } from './pages/instance-page.tsx';
import { PartitionsPage } from './pages/partitions-page.tsx';
import { RunPage } from './pages/run-page.tsx';
import { RunsPage } from './pages/runs-page.tsx';
import { WorkersPage } from './pages/workers-page.tsx';
import { href, type Route, useRoute } from './router.ts';

// The graph (React Flow) and the launch page (YAML) are loaded when first opened.
const GraphPage = lazy(() => import('./pages/graph-page.tsx').then((m) => ({ default: m.GraphPage })));
const LaunchPage = lazy(() => import('./pages/launch-page.tsx').then((m) => ({ default: m.LaunchPage })));

const NAV: { section: string; label: string; to: string }[] = [
  { section: 'assets', label: 'Assets', to: href('assets') },
  { section: 'graph', label: 'Lineage', to: href('graph') },
  { section: 'runs', label: 'Runs', to: href('runs') },
  { section: 'launch', label: 'Launch', to: href('launch') },
  { section: 'schedules', label: 'Schedules', to: href('schedules') },
  { section: 'sensors', label: 'Sensors', to: href('sensors') },
  { section: 'partitions', label: 'Partitions', to: href('partitions') },
  { section: 'backfills', label: 'Backfills', to: href('backfills') },
  { section: 'instance', label: 'Instance', to: href('instance') },
  { section: 'workers', label: 'Workers', to: href('workers') },
];

function page(route: Route) {
  const [section = 'assets', id] = route.segments;
  switch (section) {
    case 'assets':
      return id ? (
        <AssetPage key={id} assetKey={id} location={route.query.get('location')} />
      ) : (
        <CatalogPage />
      );
    case 'graph':
      return <GraphPage selection={route.query.get('selection') ?? ''} />;
    case 'launch':
      return (
        <LaunchPage
          job={route.query.get('job')}
          location={route.query.get('location')}
          selection={route.query.get('selection')}
        />
      );
    case 'runs':
      return id ? <RunPage key={id} runId={id} /> : <RunsPage query={route.query} />;
    case 'schedules':
      return <SchedulesPage />;
    case 'sensors':
      return <SensorsPage />;
    case 'partitions':
      return (
        <PartitionsPage
          key={id ?? ''}
          assetKey={id}
          location={route.query.get('location')}
          status={route.query.get('status')}
        />
      );
    case 'backfills':
      return <BackfillsPage key={id ?? ''} id={id} />;
    case 'instance':
      return <InstancePage />;
    case 'workers':
      return <WorkersPage />;
    default:
      return (
        <div className="page">
          <h1>Not found</h1>
          <p>
            No page at <code>#{route.href}</code>. <a href={href('assets')}>Back to the assets.</a>
          </p>
        </div>
      );
  }
}

export function App() {
  const route = useRoute();
  const [navOpen, setNavOpen] = useState(false);
  const section = route.segments[0] ?? 'assets';
  const definitions = useDefinitionsStatus();
  // biome-ignore lint/correctness/useExhaustiveDependencies: close the narrow-screen menu on navigation
  useEffect(() => setNavOpen(false), [route.href]);
  useEffect(() => {
    const label = NAV.find((n) => n.section === section)?.label;
    const detail = route.segments[1];
    document.title = [detail, label, 'dag'].filter(Boolean).join(' · ');
  }, [section, route.segments]);
  return (
    <div className="shell">
      <header className="topbar">
        <button
          type="button"
          aria-label="Menu"
          aria-expanded={navOpen}
          aria-controls="main-nav"
          onClick={() => setNavOpen(!navOpen)}
        >
          ☰
        </button>
        <span className="brand">dag</span>
        <span className="muted small" style={{ color: '#9aa5b4' }}>
          {NAV.find((n) => n.section === section)?.label}
        </span>
      </header>
      <nav id="main-nav" className={`nav${navOpen ? ' open' : ''}`} aria-label="Main">
        <div className="brand">
          <span className="dot materialized" /> dag
        </div>
        {NAV.map((item) => (
          <a key={item.section} href={item.to} className={item.section === section ? 'active' : undefined}>
            {item.label}
          </a>
        ))}
        <ReloadButton onReloaded={definitions.reload} />
      </nav>
      {/* A new generation of definitions remounts the page, which fetches them again. */}
      <main className="main" key={definitions.data?.generation ?? 0}>
        <LoadErrorBanner errors={definitions.data?.errors ?? []} />
        <Suspense fallback={<Loading />}>{page(route)}</Suspense>
      </main>
    </div>
  );
}
