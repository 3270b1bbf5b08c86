import type { Definitions } from '../definitions/definitions.ts';
import { describeError } from '../errors.ts';
import { planRun } from '../execution/plan.ts';
import type {
  AssetVersionRecord,
  AutomationEvaluationRecord,
  InstanceStorage,
  InstigatorState,
  NewTick,
  TickRun,
} from '../instance/storage.ts';
import { selectionOfKeys } from '../selection/asset-selection.ts';
import {
  type AssetState,
  type ConditionNode,
  type ConditionResult,
  evaluateCondition,
  latestCronTick,
} from './condition.ts';

/** The instigator type and tag of what the automation evaluation requests. */
export const AUTOMATION_TAG = 'dag/automation';

/** Per asset: the state a run was last requested for, and when. */
interface CursorEntry {
  /** Snapshot of what the request was for; the same state never requests again. */
  s: string;
  /** Epoch ms of the request. */
  t: number;
}
interface AutomationCursor {
  assets: Record<string, CursorEntry>;
}

export interface AssetEvaluation {
  assetKey: string;
  result: ConditionResult;
  requested: boolean;
  /** Why a true condition did not request a run. */
  skipReason?: string;
}

export interface AutomationTickResult {
  location: string;
  evaluations: AssetEvaluation[];
  requested: string[];
  runId: string | null;
  /** The tick to commit (runs and cursor in one transaction); null when nothing changed. */
  tick: NewTick | null;
  records: AutomationEvaluationRecord[];
}

function parseCursor(state: InstigatorState | undefined): AutomationCursor {
  if (!state?.cursor) return { assets: {} };
  try {
    const parsed = JSON.parse(state.cursor) as AutomationCursor;
    return parsed && typeof parsed.assets === 'object' ? parsed : { assets: {} };
  } catch {
    return { assets: {} };
  }
}

function cronTicks(node: ConditionNode, now: number, out: number[] = []): number[] {
  if (node.type === 'on_cron') out.push(latestCronTick(node.cron, node.timezone, now) ?? 0);
  else if (node.type === 'not') cronTicks(node.operand, now, out);
  else if (node.type === 'and' || node.type === 'or') for (const o of node.operands) cronTicks(o, now, out);
  return out;
}

/** Keys of assets that a queued or in-progress run will materialize. */
export async function assetsInProgress(storage: InstanceStorage): Promise<Set<string>> {
  const [queued, running] = await Promise.all([storage.getQueuedRuns(10_000), storage.getInProgressRuns()]);
  const out = new Set<string>();
  for (const run of [...queued, ...running]) for (const key of run.assetSelection ?? []) out.add(key);
  return out;
}

/**
 * One evaluation of every automation condition of a code location, upstream first: which
 * assets to materialize now, each with the explanation of its condition. Pure but for what it
 * is given; commits nothing (the daemon commits the tick: the run and the cursor together).
 *
 * No run is requested twice: an asset whose condition is true is requested only if its state
 * (its latest materialization, its upstream updates, the cron ticks its condition uses) differs
 * from the state of its last request, recorded in the cursor.
 */
export function evaluateAutomation(input: {
  location: string;
  definitions: Definitions;
  versions: ReadonlyMap<string, AssetVersionRecord>;
  inProgress: ReadonlySet<string>;
  state: InstigatorState | undefined;
  now: Date;
  /** Last saved explanation per asset key (JSON), to store only what changed. */
  lastSaved: Map<string, string>;
}): AutomationTickResult {
  const { definitions, versions, now } = input;
  const nowMs = now.getTime();
  const cursor = parseCursor(input.state);
  const graph = definitions.graph;
  const busy = new Set(input.inProgress);
  const evaluations: AssetEvaluation[] = [];
  const requested: string[] = [];
  const snapshots = new Map<string, string>();
  for (const key of graph.order) {
    const asset = graph.get(key);
    const condition = asset.automationCondition;
    if (!condition || asset.external) continue;
    const own = versions.get(key);
    const ownId = own?.lastMaterializationId ?? null;
    const upstream = graph.parentsOf(key).map((up) => {
      const v = versions.get(up);
      const matId = v?.lastMaterializationId ?? null;
      const obsId = v?.lastObservationId ?? null;
      // An observed source updates when its observed data version differs from the one the
      // asset was computed from; a materialized asset, with each new materialization.
      const newerThanAsset =
        ownId === null ||
        (matId !== null && matId > ownId) ||
        (matId === null && obsId !== null && v?.observedDataVersion !== (own?.version?.inputs[up] ?? null));
      const times = [v?.lastMaterializedAt?.getTime(), v?.lastObservedAt?.getTime()].filter(
        (t): t is number => t !== undefined,
      );
      return {
        key: up,
        updateId: matId ?? (obsId !== null ? obsId : null),
        updatedAt: times.length ? Math.max(...times) : null,
        newerThanAsset,
        inProgress: busy.has(up),
        version: matId !== null ? String(matId) : (v?.observedDataVersion ?? ''),
      };
    });
    const entry = cursor.assets[key];
    const state: AssetState = {
      key,
      lastMaterializationId: ownId,
      lastMaterializedAt: own?.lastMaterializedAt?.getTime() ?? null,
      inProgress: busy.has(key),
      upstream,
      lastRequestedAt: entry?.t ?? null,
    };
    const result = evaluateCondition(condition.node, state, nowMs);
    const evaluation: AssetEvaluation = { assetKey: key, result, requested: false };
    if (result.true) {
      const snapshot = [
        ownId ?? '-',
        ...upstream.map((u) => u.version),
        ...cronTicks(condition.node, nowMs),
      ].join('|');
      if (entry?.s === snapshot) {
        evaluation.skipReason = 'a run was already requested for this state';
      } else {
        evaluation.requested = true;
        requested.push(key);
        snapshots.set(key, snapshot);
        busy.add(key);
      }
    }
    evaluations.push(evaluation);
  }

  let run: TickRun | null = null;
  let error: string | null = null;
  if (requested.length > 0) {
    try {
      const plan = planRun(definitions, {
        selection: selectionOfKeys(requested),
        tags: { [AUTOMATION_TAG]: 'true' },
      });
      run = {
        runId: plan.runId,
        jobName: plan.jobName,
        location: input.location,
        status: 'QUEUED',
        assetSelection: plan.assetSelection,
        selection: null,
        runConfig: plan.runConfig as Record<string, unknown>,
        tags: plan.tags,
      };
    } catch (e) {
      error = `Could not request a run of ${requested.join(', ')}: ${describeError(e)}`;
    }
  }
  for (const key of requested) cursor.assets[key] = { s: snapshots.get(key)!, t: nowMs };
  const tick: NewTick | null =
    requested.length > 0
      ? {
          type: 'automation',
          name: input.location,
          status: run ? 'SUCCESS' : 'FAILURE',
          tickTime: now,
          runs: run ? [run] : [],
          cursor: JSON.stringify(cursor),
          error,
        }
      : null;

  const records: AutomationEvaluationRecord[] = [];
  for (const e of evaluations) {
    const explanation = { ...e.result, ...(e.skipReason ? { skipReason: e.skipReason } : {}) };
    const text = JSON.stringify(explanation);
    if (!e.requested && input.lastSaved.get(e.assetKey) === text) continue;
    input.lastSaved.set(e.assetKey, text);
    records.push({
      location: input.location,
      assetKey: e.assetKey,
      evaluatedAt: now,
      conditionTrue: e.result.true,
      requested: e.requested,
      runId: e.requested ? (run?.runId ?? null) : null,
      explanation,
    });
  }
  return { location: input.location, evaluations, requested, runId: run?.runId ?? null, tick, records };
}
