import type { Cron } from 'croner';
import { DefinitionError } from '../errors.ts';
import { lazyRequire } from '../util/lazy-require.ts';

/** Loaded on first use: only schedules and cron conditions need it. */
const croner = lazyRequire<typeof import('croner')>('croner', import.meta.url);

/**
 * Declarative automation, as Dagster's AutomationCondition: a condition on an asset that the
 * daemon evaluates over the whole graph on every tick; when it is true (and the asset's state
 * changed since it last requested a run for it), the daemon requests a run of the asset.
 *
 * Conditions compose: `eager().or(missing())`, `onCron('0 2 * * *', { timezone: 'Asia/Seoul' }).and(missing().not())`.
 */
export type ConditionNode =
  | { type: 'eager' }
  | { type: 'missing' }
  | { type: 'in_progress' }
  | { type: 'any_upstream_updated' }
  | { type: 'on_cron'; cron: string; timezone: string }
  | { type: 'and' | 'or'; operands: ConditionNode[] }
  | { type: 'not'; operand: ConditionNode };

export class AutomationCondition {
  readonly kind = 'automation_condition' as const;
  constructor(readonly node: ConditionNode) {}

  /** True when both are. */
  and(...others: AutomationCondition[]): AutomationCondition {
    return new AutomationCondition({ type: 'and', operands: [this.node, ...others.map((o) => o.node)] });
  }
  /** True when either is. */
  or(...others: AutomationCondition[]): AutomationCondition {
    return new AutomationCondition({ type: 'or', operands: [this.node, ...others.map((o) => o.node)] });
  }
  /** True when this one is not. */
  not(): AutomationCondition {
    return new AutomationCondition({ type: 'not', operand: this.node });
  }
  /** How the condition reads: `eager() or missing()`. */
  get label(): string {
    return conditionLabel(this.node);
  }

  /** Materialize when an upstream asset updates (or when the asset is missing and its upstream is there). */
  static eager(): AutomationCondition {
    return new AutomationCondition({ type: 'eager' });
  }
  /** The asset was never materialized. */
  static missing(): AutomationCondition {
    return new AutomationCondition({ type: 'missing' });
  }
  /** A queued or running run (or one this evaluation requests) materializes the asset. */
  static inProgress(): AutomationCondition {
    return new AutomationCondition({ type: 'in_progress' });
  }
  /** An upstream asset updated after the asset's latest materialization. */
  static anyUpstreamUpdated(): AutomationCondition {
    return new AutomationCondition({ type: 'any_upstream_updated' });
  }
  /**
   * Once per cron tick (in the time zone, default UTC): after the tick, as soon as every upstream
   * asset has updated since it, the asset is materialized once.
   */
  static onCron(cron: string, options: { timezone?: string } = {}): AutomationCondition {
    const timezone = options.timezone ?? 'UTC';
    cronOf(cron, timezone);
    return new AutomationCondition({ type: 'on_cron', cron, timezone });
  }
}

export const eager = AutomationCondition.eager;
export const missing = AutomationCondition.missing;
export const inProgress = AutomationCondition.inProgress;
export const anyUpstreamUpdated = AutomationCondition.anyUpstreamUpdated;
export const onCron = AutomationCondition.onCron;

const crons = new Map<string, Cron>();
function cronOf(cron: string, timezone: string): Cron {
  const id = `${timezone}\u0000${cron}`;
  let parsed = crons.get(id);
  if (!parsed) {
    try {
      parsed = new (croner().Cron)(cron, { timezone, paused: true });
    } catch (error) {
      throw new DefinitionError(
        `onCron('${cron}', { timezone: '${timezone}' }): invalid cron or time zone: ${(error as Error).message}`,
        { cause: error },
      );
    }
    crons.set(id, parsed);
  }
  return parsed;
}

/** Per cron and zone, the latest tick found and the one after it: valid for any now in [tick, next). */
const latestTicks = new Map<string, { tick: number; next: number }>();

/**
 * The latest tick of the cron at or before `now` (epoch ms), or null. Asking croner for a
 * previous run walks back through the calendar; one evaluation asks for every onCron asset of
 * the graph at the same `now`, so the answer is kept until the next tick.
 */
export function latestCronTick(cron: string, timezone: string, now: number): number | null {
  const id = `${timezone}\u0000${cron}`;
  const known = latestTicks.get(id);
  if (known && now >= known.tick && now < known.next) return known.tick;
  const parsed = cronOf(cron, timezone);
  const tick = parsed.previousRuns(1, new Date(now + 1))[0]?.getTime();
  if (tick === undefined) return null;
  const next = parsed.nextRun(new Date(tick))?.getTime() ?? Number.POSITIVE_INFINITY;
  latestTicks.set(id, { tick, next });
  return tick;
}

const labels = new WeakMap<ConditionNode, string>();

/** How a condition reads (kept per node: every evaluation of every asset shows it). */
export function conditionLabel(node: ConditionNode): string {
  let label = labels.get(node);
  if (label === undefined) {
    label = labelOf(node);
    labels.set(node, label);
  }
  return label;
}

function labelOf(node: ConditionNode): string {
  switch (node.type) {
    case 'eager':
      return 'eager()';
    case 'missing':
      return 'missing()';
    case 'in_progress':
      return 'inProgress()';
    case 'any_upstream_updated':
      return 'anyUpstreamUpdated()';
    case 'on_cron':
      return `onCron('${node.cron}', '${node.timezone}')`;
    case 'not':
      return `not ${wrap(node.operand)}`;
    default:
      return node.operands.map(wrap).join(` ${node.type} `);
  }
}
function wrap(node: ConditionNode): string {
  return node.type === 'and' || node.type === 'or' ? `(${conditionLabel(node)})` : conditionLabel(node);
}

/** An upstream asset as an evaluation sees it. */
export interface UpstreamState {
  key: string;
  /** Event id of its latest update: a materialization, or an observation with a new data version. */
  updateId: number | null;
  /** When it last updated (epoch ms). */
  updatedAt: number | null;
  /** Its update is newer than what the asset was computed from. */
  newerThanAsset: boolean;
  inProgress: boolean;
}

/** An asset as an evaluation sees it. */
export interface AssetState {
  key: string;
  lastMaterializationId: number | null;
  lastMaterializedAt: number | null;
  inProgress: boolean;
  upstream: UpstreamState[];
  /** When the daemon last requested a run of it (epoch ms), from the cursor. */
  lastRequestedAt: number | null;
}

/** The outcome of one node of a condition, and why: what the UI and API show. */
export interface ConditionResult {
  label: string;
  true: boolean;
  reason: string;
  operands?: ConditionResult[];
}

function result(node: ConditionNode, value: boolean, reason: string, operands?: ConditionResult[]) {
  return { label: conditionLabel(node), true: value, reason, ...(operands ? { operands } : {}) };
}

/** Evaluates a condition for one asset at `now` (epoch ms). Pure. */
export function evaluateCondition(node: ConditionNode, state: AssetState, now: number): ConditionResult {
  switch (node.type) {
    case 'missing':
      return state.lastMaterializationId === null
        ? result(node, true, 'it was never materialized')
        : result(node, false, 'it has been materialized');
    case 'in_progress':
      return state.inProgress
        ? result(node, true, 'a run materializing it is queued or running')
        : result(node, false, 'no run materializing it is queued or running');
    case 'any_upstream_updated': {
      const updated = state.upstream.filter((u) => u.newerThanAsset);
      return updated.length > 0
        ? result(node, true, `upstream ${names(updated)} updated after its latest materialization`)
        : result(node, false, 'no upstream asset updated after its latest materialization');
    }
    case 'eager': {
      if (state.inProgress) return result(node, false, 'a run materializing it is queued or running');
      const absent = state.upstream.filter((u) => u.updateId === null);
      if (absent.length > 0) return result(node, false, `upstream ${names(absent)} has no data yet`);
      const busy = state.upstream.filter((u) => u.inProgress);
      if (busy.length > 0) return result(node, false, `upstream ${names(busy)} is being materialized`);
      if (state.lastMaterializationId === null) {
        return result(node, true, 'it was never materialized and its upstream data is there');
      }
      const updated = state.upstream.filter((u) => u.newerThanAsset);
      return updated.length > 0
        ? result(node, true, `upstream ${names(updated)} updated after its latest materialization`)
        : result(node, false, 'no upstream asset updated after its latest materialization');
    }
    case 'on_cron': {
      const tick = latestCronTick(node.cron, node.timezone, now);
      if (tick === null) return result(node, false, 'the cron has not ticked yet');
      const at = new Date(tick).toISOString();
      if (state.inProgress) return result(node, false, 'a run materializing it is queued or running');
      if ((state.lastMaterializedAt ?? -1) >= tick) {
        return result(node, false, `it was materialized after the tick of ${at}`);
      }
      if ((state.lastRequestedAt ?? -1) >= tick) {
        return result(node, false, `a run was already requested for the tick of ${at}`);
      }
      const waiting = state.upstream.filter(
        (u) => u.updatedAt === null || u.updatedAt < tick || u.inProgress,
      );
      if (waiting.length > 0) {
        return result(
          node,
          false,
          `the tick of ${at} passed; waiting for upstream ${names(waiting)} to update`,
        );
      }
      return result(
        node,
        true,
        state.upstream.length
          ? `the tick of ${at} passed and every upstream asset updated since`
          : `the tick of ${at} passed`,
      );
    }
    case 'not': {
      const inner = evaluateCondition(node.operand, state, now);
      return result(node, !inner.true, inner.true ? `${inner.label} is true` : `${inner.label} is false`, [
        inner,
      ]);
    }
    case 'and': {
      const operands = node.operands.map((o) => evaluateCondition(o, state, now));
      const falses = operands.filter((o) => !o.true);
      return result(
        node,
        falses.length === 0,
        falses.length === 0 ? 'every operand is true' : `${falses.map((o) => o.label).join(', ')} false`,
        operands,
      );
    }
    case 'or': {
      const operands = node.operands.map((o) => evaluateCondition(o, state, now));
      const trues = operands.filter((o) => o.true);
      return result(
        node,
        trues.length > 0,
        trues.length > 0 ? `${trues.map((o) => o.label).join(', ')} true` : 'no operand is true',
        operands,
      );
    }
  }
}

function names(list: { key: string }[]): string {
  return list.map((u) => `'${u.key}'`).join(', ');
}
