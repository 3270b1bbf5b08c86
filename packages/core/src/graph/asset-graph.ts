import type { AssetDefinition } from '../definitions/asset.ts';
import { DefinitionError } from '../errors.ts';
import { didYouMean } from '../util/suggest.ts';

/**
 * The dependency graph of a code location's assets. Construction validates it: duplicate
 * keys, unknown deps and cycles are DefinitionErrors that name the problem.
 */
export class AssetGraph {
  readonly assets: ReadonlyMap<string, AssetDefinition>;
  private readonly parents = new Map<string, string[]>();
  private readonly children = new Map<string, string[]>();
  /** All keys in a topological order (upstream first), ties broken by definition order. */
  readonly order: readonly string[];

  constructor(assets: readonly AssetDefinition[]) {
    const byKey = new Map<string, AssetDefinition>();
    for (const a of assets) {
      if (byKey.has(a.key)) {
        throw new DefinitionError(
          `Duplicate asset key '${a.key}': two assets are defined with this name. Rename one of them.`,
        );
      }
      byKey.set(a.key, a);
    }
    this.assets = byKey;
    for (const key of byKey.keys()) {
      this.parents.set(key, []);
      this.children.set(key, []);
    }
    for (const a of assets) {
      for (const dep of a.deps) {
        if (!byKey.has(dep)) {
          throw new DefinitionError(
            `Asset '${a.key}' depends on unknown asset '${dep}'.${didYouMean(
              dep,
              [...byKey.keys()].filter((k) => k !== a.key),
            )} Define '${dep}' or add it to the Definitions' assets.`,
          );
        }
        this.parents.get(a.key)!.push(dep);
        this.children.get(dep)!.push(a.key);
      }
    }
    this.order = this.topologicalOrder();
  }

  private topologicalOrder(): string[] {
    const indegree = new Map<string, number>();
    for (const [key, ps] of this.parents) indegree.set(key, ps.length);
    const ready = [...this.assets.keys()].filter((k) => indegree.get(k) === 0);
    const order: string[] = [];
    // A read index, not shift(): shifting a 10,000-entry array on every step is O(n²).
    for (let next = 0; next < ready.length; next++) {
      const key = ready[next]!;
      order.push(key);
      for (const child of this.children.get(key)!) {
        const left = indegree.get(child)! - 1;
        indegree.set(child, left);
        if (left === 0) ready.push(child);
      }
    }
    if (order.length !== this.assets.size) {
      const cycle = this.findCycle(new Set(order));
      throw new DefinitionError(
        `Dependency cycle between assets: ${cycle.join(' -> ')}. An asset cannot depend on itself through its upstream; remove one of these deps.`,
      );
    }
    return order;
  }

  private findCycle(acyclic: Set<string>): string[] {
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (key: string): string[] | undefined => {
      state.set(key, 'visiting');
      stack.push(key);
      for (const parent of this.parents.get(key)!) {
        if (acyclic.has(parent)) continue;
        if (state.get(parent) === 'visiting')
          return [...stack.slice(stack.indexOf(parent)), parent].reverse();
        if (!state.has(parent)) {
          const found = visit(parent);
          if (found) return found;
        }
      }
      stack.pop();
      state.set(key, 'done');
      return undefined;
    };
    for (const key of this.assets.keys()) {
      if (acyclic.has(key) || state.has(key)) continue;
      const found = visit(key);
      if (found) return found;
    }
    return [];
  }

  has(key: string): boolean {
    return this.assets.has(key);
  }

  get(key: string): AssetDefinition {
    const a = this.assets.get(key);
    if (!a) throw new DefinitionError(`Unknown asset '${key}'.${didYouMean(key, this.assets.keys())}`);
    return a;
  }

  parentsOf(key: string): readonly string[] {
    return this.parents.get(key) ?? [];
  }

  childrenOf(key: string): readonly string[] {
    return this.children.get(key) ?? [];
  }

  /** Keys upstream of `key` (not including it), up to `depth` levels (Infinity = all). */
  upstream(key: string, depth = Number.POSITIVE_INFINITY): Set<string> {
    return this.walk(key, depth, (k) => this.parentsOf(k));
  }

  /** Keys downstream of `key` (not including it), up to `depth` levels. */
  downstream(key: string, depth = Number.POSITIVE_INFINITY): Set<string> {
    return this.walk(key, depth, (k) => this.childrenOf(k));
  }

  private walk(start: string, depth: number, next: (k: string) => readonly string[]): Set<string> {
    const seen = new Set<string>();
    let frontier = [start];
    for (let level = 0; level < depth && frontier.length > 0; level++) {
      const nextFrontier: string[] = [];
      for (const k of frontier) {
        for (const n of next(k)) {
          if (!seen.has(n)) {
            seen.add(n);
            nextFrontier.push(n);
          }
        }
      }
      frontier = nextFrontier;
    }
    return seen;
  }

  /** Sorts keys topologically. */
  sort(keys: Iterable<string>): string[] {
    const wanted = new Set(keys);
    return this.order.filter((k) => wanted.has(k));
  }
}
