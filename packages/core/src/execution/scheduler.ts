/**
 * Which steps of a plan can start, kept up to date as steps end: each step counts its unmet
 * dependencies, and a step's end touches only its own downstream edges. A whole run therefore
 * costs O(steps + edges) (plus a log factor for picking the earliest ready step), where
 * re-scanning every pending step after each end cost O(steps²) on a 10,000-asset graph.
 *
 * Ready steps start in plan order (the earliest ready step first), so a concurrency limit
 * picks the same steps as before. `operations` counts the units of work done (edges walked,
 * heap moves): the complexity tests read it instead of timing anything.
 */
export interface SchedulableStep {
  readonly key: string;
  readonly deps: readonly string[];
}

export class StepScheduler {
  /** Units of work done so far: dependency edges walked and ready-heap moves. */
  operations = 0;
  private readonly index = new Map<string, number>();
  private readonly unmet: Int32Array;
  private readonly children: number[][];
  private readonly done: Uint8Array;
  /** A binary min-heap of plan indexes: the earliest ready step is at the top. */
  private readonly heap: number[] = [];

  constructor(private readonly steps: readonly SchedulableStep[]) {
    this.unmet = new Int32Array(steps.length);
    this.done = new Uint8Array(steps.length);
    this.children = steps.map(() => []);
    for (const [i, step] of steps.entries()) this.index.set(step.key, i);
    steps.forEach((step, i) => {
      for (const dep of step.deps) {
        this.operations++;
        const d = this.index.get(dep);
        // A dep outside the plan (not selected) is not waited for.
        if (d === undefined) continue;
        this.unmet[i]!++;
        this.children[d]!.push(i);
      }
    });
    for (let i = 0; i < steps.length; i++) if (this.unmet[i] === 0) this.push(i);
  }

  /** The earliest ready step, taken off the ready set; undefined when none is ready now. */
  next(): SchedulableStep | undefined {
    const i = this.pop();
    return i === undefined ? undefined : this.steps[i];
  }

  /** The step succeeded: its downstream steps whose deps have all succeeded become ready. */
  succeeded(key: string): void {
    const i = this.indexOf(key);
    this.done[i] = 1;
    for (const c of this.children[i]!) {
      this.operations++;
      if (--this.unmet[c]! === 0 && !this.done[c]) this.push(c);
    }
  }

  /**
   * The step did not succeed: every step downstream of it that has not ended yet will never
   * run. Returns them in plan order (upstream first); they count as ended from now on.
   */
  notSucceeded(key: string): SchedulableStep[] {
    const i = this.indexOf(key);
    this.done[i] = 1;
    const out: number[] = [];
    const stack = [...this.children[i]!];
    while (stack.length > 0) {
      const c = stack.pop()!;
      this.operations++;
      if (this.done[c]) continue;
      this.done[c] = 1;
      out.push(c);
      for (const g of this.children[c]!) stack.push(g);
    }
    out.sort((a, b) => a - b);
    return out.map((c) => this.steps[c]!);
  }

  private indexOf(key: string): number {
    const i = this.index.get(key);
    if (i === undefined) throw new Error(`Step '${key}' is not part of this plan.`);
    return i;
  }

  private push(i: number): void {
    const heap = this.heap;
    heap.push(i);
    let at = heap.length - 1;
    while (at > 0) {
      this.operations++;
      const parent = (at - 1) >> 1;
      if (heap[parent]! <= i) break;
      heap[at] = heap[parent]!;
      at = parent;
    }
    heap[at] = i;
  }

  private pop(): number | undefined {
    const heap = this.heap;
    // A step taken for skipping while it sat in the heap is dropped here.
    while (heap.length > 0) {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        let at = 0;
        for (;;) {
          this.operations++;
          const l = 2 * at + 1;
          if (l >= heap.length) break;
          const r = l + 1;
          const m = r < heap.length && heap[r]! < heap[l]! ? r : l;
          if (heap[m]! >= last) break;
          heap[at] = heap[m]!;
          at = m;
        }
        heap[at] = last;
      }
      if (!this.done[top]) return top;
    }
    return undefined;
  }
}
