import type { MetadataSeries } from '@dag/core/events';
import { apiPath, enc } from '../api/client.ts';
import { useApi } from '../api/use-api.ts';
import { Empty, ErrorBox } from './common.tsx';

interface StaleResponse {
  stale: boolean;
  reasons: { cause: string; message: string }[];
  codeVersion: string | null;
  recorded: { data: string; code: string | null } | null;
}

interface ConditionNodeResult {
  label: string;
  true: boolean;
  reason: string;
  operands?: ConditionNodeResult[];
  skipReason?: string;
}

interface AutomationResponse {
  condition: string | null;
  evaluations: {
    id: number;
    evaluatedAt: string;
    conditionTrue: boolean;
    requested: boolean;
    runId: string | null;
    explanation: ConditionNodeResult;
  }[];
}

const W = 320;
const H = 80;

/**
 * One numeric metadata key across materializations, as a line. Drawn as an SVG polyline: the
 * few lines below are the whole chart; a charting library would add to the bundle of every page.
 */
function Plot({ series }: { series: MetadataSeries }) {
  const values = series.points.map((p) => p.value);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const x = (i: number) =>
    series.points.length === 1 ? W / 2 : (i / (series.points.length - 1)) * (W - 8) + 4;
  const y = (v: number) => H - 4 - ((v - min) / span) * (H - 8);
  const unit = series.type === 'duration' ? ' ms' : '';
  const last = series.points.at(-1);
  return (
    <div className="stack" style={{ gap: 2 }} data-testid={`plot-${series.key}`}>
      <div className="row small">
        <strong>{series.key}</strong>
        <span className="muted">
          latest {last?.value}
          {unit} · min {min}
          {unit} · max {max}
          {unit} · {series.points.length} materializations
        </span>
      </div>
      <svg width={W} height={H} role="img" aria-label={`${series.key} across materializations`}>
        <polyline
          fill="none"
          stroke="var(--accent, #4c6ef5)"
          strokeWidth={2}
          points={series.points.map((p, i) => `${x(i)},${y(p.value)}`).join(' ')}
        />
        {series.points.map((p, i) => (
          <circle key={p.id} cx={x(i)} cy={y(p.value)} r={2.5} fill="var(--accent, #4c6ef5)">
            <title>{`${p.ts}: ${p.value}${unit}`}</title>
          </circle>
        ))}
      </svg>
    </div>
  );
}

function ConditionTree({ node }: { node: ConditionNodeResult }) {
  return (
    <li>
      <code>{node.label}</code>{' '}
      <span className={node.true ? 'ok' : 'muted'}>{node.true ? 'true' : 'false'}</span>: {node.reason}
      {node.operands && (
        <ul>
          {node.operands.map((o, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: operands have no identity but their place
            <ConditionTree key={i} node={o} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** Plots, staleness and automation of an asset: what changed over its history, and why it runs. */
export function AssetInsights({ assetKey }: { assetKey: string }) {
  const plots = useApi<{ series: MetadataSeries[] }>(
    apiPath(`/api/assets/${enc(assetKey)}/plots`, { limit: 100 }),
  );
  const stale = useApi<StaleResponse>(`/api/assets/${enc(assetKey)}/staleness`);
  const automation = useApi<AutomationResponse>(
    apiPath(`/api/assets/${enc(assetKey)}/automation`, { limit: 5 }),
  );
  const latest = automation.data?.evaluations[0];
  return (
    <>
      <div className="panel" data-testid="asset-plots">
        <h2>Plots</h2>
        <ErrorBox error={plots.error} />
        {plots.data && plots.data.series.length === 0 && <Empty>No numeric metadata yet.</Empty>}
        <div className="row" style={{ flexWrap: 'wrap', gap: 24 }}>
          {plots.data?.series.map((s) => (
            <Plot key={s.key} series={s} />
          ))}
        </div>
      </div>
      {stale.data?.stale && (
        <div className="panel" data-testid="asset-stale">
          <h2>Stale</h2>
          <ul>
            {stale.data.reasons.map((r) => (
              <li key={`${r.cause}:${r.message}`}>{r.message}</li>
            ))}
          </ul>
        </div>
      )}
      {automation.data?.condition && (
        <div className="panel" data-testid="asset-automation">
          <h2>Automation</h2>
          <div className="small">
            Condition: <code>{automation.data.condition}</code>
          </div>
          {latest ? (
            <div className="stack small">
              <div className="muted">
                Evaluated {latest.evaluatedAt}:{' '}
                {latest.requested ? `requested run ${latest.runId ?? ''}` : 'no run'}
                {latest.explanation.skipReason ? ` (${latest.explanation.skipReason})` : ''}
              </div>
              <ul>
                <ConditionTree node={latest.explanation} />
              </ul>
            </div>
          ) : (
            <Empty>Not evaluated yet: the daemon evaluates it on its next pass.</Empty>
          )}
        </div>
      )}
    </>
  );
}
