import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EtaReporter } from '../src/lib/eta-reporter.ts';

function recorder() {
  const progress: [number, number, string | undefined][] = [];
  const lines: string[] = [];
  return {
    progress,
    lines,
    ctx: {
      progress: (done: number, total: number, message?: string) => progress.push([done, total, message]),
      log: { info: (line: string) => lines.push(line) },
    },
  };
}

describe('EtaReporter', () => {
  it('reports progress on every item and, for quick work, only the final line', () => {
    const eta = new EtaReporter('converted', 'PNGs', 1200);
    const { ctx, progress, lines } = recorder();
    for (let i = 0; i < 1200; i++) eta.tick(ctx);
    assert.equal(eta.done, 1200);
    assert.equal(progress.length, 1200);
    assert.deepEqual(progress[0], [1, 1200, '1/1200 PNGs']);
    assert.deepEqual(progress.at(-1), [1200, 1200, '1200/1200 PNGs']);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^converted 1,200\/1,200 PNGs \(100%\), [\d.]+\/s, done in /);
  });

  it('logs a line with a rate and an ETA once an interval has passed', async () => {
    let now = 1_000_000;
    const eta = new EtaReporter('downloaded', 'PNGs', 10, 20, () => now);
    const { ctx, lines } = recorder();
    eta.tick(ctx);
    assert.equal(lines.length, 0, 'no line from the first item alone');
    now += 19;
    eta.tick(ctx);
    assert.equal(lines.length, 0, 'no line before the interval has passed');
    now += 1;
    eta.tick(ctx);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^downloaded 3\/10 PNGs \(30%\), 150\.0\/s, ETA /);
  });
});
