// Loaded into `dag dev` by bench/core/core-bench.ts (dev) with `node --expose-gc --import`: on
// SIGUSR2 it runs a full garbage collection and writes the process's memory usage, as JSON, to
// HEAP_PROBE_FILE (written whole, then renamed). What is live after a full collection tells a
// growing heap from memory the allocator merely keeps, which RSS alone cannot.
import { renameSync, writeFileSync } from 'node:fs';

const file = process.env.HEAP_PROBE_FILE;
if (file && typeof globalThis.gc === 'function') {
  let n = 0;
  process.on('SIGUSR2', () => {
    globalThis.gc();
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ n: ++n, ...process.memoryUsage() }));
    renameSync(tmp, file);
  });
}
