/**
 * Generated graphs of no-op assets for the core benchmark and the complexity tests.
 *
 * As a definitions file (`dag -f bench/core/defs.ts ...`) it reads BENCH_SHAPE (chain, fanout,
 * lattice; default chain) and BENCH_ASSETS (default 1000).
 */
import { type AssetDefinition, asset, Definitions } from '@dag/core';

export type Shape = 'chain' | 'fanout' | 'lattice';
export const SHAPES: readonly Shape[] = ['chain', 'fanout', 'lattice'];

/** Dependencies of asset i (by index) in a graph of n assets of the shape. */
export function depsOf(shape: Shape, n: number, i: number): number[] {
  if (i === 0) return [];
  if (shape === 'chain') return [i - 1];
  if (shape === 'fanout') return [0];
  // Lattice: layers of √n assets; each asset reads two neighbours of the layer above.
  const width = Math.max(2, Math.round(Math.sqrt(n)));
  const layer = Math.floor(i / width);
  if (layer === 0) return [];
  const col = i % width;
  const above = (layer - 1) * width;
  return [...new Set([above + col, above + ((col + 1) % width)])];
}

/** A graph of n no-op assets `a0`..`a<n-1>`; `onCall(i)` runs inside asset i's function. */
export function buildAssets(shape: Shape, n: number, onCall?: (i: number) => void): AssetDefinition[] {
  const assets: AssetDefinition[] = [];
  for (let i = 0; i < n; i++) {
    assets.push(
      asset({ name: `a${i}`, group: 'bench', deps: depsOf(shape, n, i).map((d) => assets[d]!) }, async () => {
        onCall?.(i);
      }),
    );
  }
  return assets;
}

const envShape = (process.env.BENCH_SHAPE ?? 'chain') as Shape;
if (!SHAPES.includes(envShape)) {
  throw new Error(`BENCH_SHAPE='${envShape}' is not a shape; use one of ${SHAPES.join(', ')}.`);
}
const envCount = Number(process.env.BENCH_ASSETS ?? 1000);
if (!Number.isInteger(envCount) || envCount < 1) {
  throw new Error(`BENCH_ASSETS='${process.env.BENCH_ASSETS}' must be a whole number of assets, 1 or more.`);
}

export default new Definitions({ assets: buildAssets(envShape, envCount) });
