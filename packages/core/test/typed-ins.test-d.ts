/**
 * Type tests (checked by `npm run typecheck`, never executed): a downstream asset's `ins`
 * receive the type its upstream's function returns, without casts, and a wrong type is rejected.
 */
import { asset, MaterializeResult, multiAsset } from '../src/index.ts';

const counts = asset({ name: 'counts' }, async () => new Map<string, number>([['a', 1]]));
const when = asset(
  { name: 'when' },
  () => new MaterializeResult({ value: new Date(), metadata: { rows: 1 } }),
);
const split = multiAsset({ name: 'split', outs: { left: {}, right: {} } }, async () => ({
  left: 1,
  right: 'two',
}));

export const report = asset(
  { name: 'report', ins: { counts, when, left: split.outs.left, right: split.outs.right, raw: 'counts' } },
  async (_ctx, inputs) => {
    const total: number = inputs.counts.get('a') ?? 0;
    const iso: string = inputs.when.toISOString();
    const l: number = inputs.left;
    const r: string = inputs.right;
    // An input given by key string is not typed.
    const raw: unknown = inputs.raw;
    return { total, iso, l, r, raw };
  },
);

export const wrong = asset(
  { name: 'wrong', ins: { counts, left: split.outs.left } },
  async (_ctx, inputs) => {
    // @ts-expect-error a Map is not a string
    const s: string = inputs.counts;
    // @ts-expect-error the output 'left' is a number
    const t: string = inputs.left;
    // @ts-expect-error no input of that name
    void inputs.missing;
    return [s, t];
  },
);

// The definition carries the stored type onwards.
export const chained = asset({ name: 'chained', ins: { report } }, (_ctx, { report: r }) => r.total + r.l);
