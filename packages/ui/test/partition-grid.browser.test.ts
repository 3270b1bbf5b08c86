/** The Partitions page's arithmetic: filters, the backfill argument, typed keys, the grid window (pure: no browser). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactPartitionStatus, frontCode } from '../../server/src/api/partitions-payload.ts';
import type { PartitionStatus } from '../src/api/types.ts';
import {
  decodePartitionStatus,
  parseKeyList,
  partitionMatrix,
  partitionsArgument,
  shownPartitions,
  statusSegments,
  stripBoxes,
  stripBoxLabel,
  visibleRows,
} from '../src/lib/partitions.ts';

const keys = ['a', 'b', 'c', 'd', 'e'];
const statuses: PartitionStatus[] = ['MATERIALIZED', 'MISSING', 'FAILED', 'MISSING', 'MISSING'];

describe('partition grid logic', () => {
  it('shows every partition with no filter, else those whose status is in it', () => {
    assert.deepEqual(shownPartitions(statuses, new Set()), [0, 1, 2, 3, 4]);
    assert.deepEqual(shownPartitions(statuses, new Set(['MISSING'])), [1, 3, 4]);
    assert.deepEqual(shownPartitions(statuses, new Set(['FAILED', 'MATERIALIZED'])), [0, 2]);
    assert.deepEqual(shownPartitions(statuses, new Set(['IN_PROGRESS'])), []);
  });

  it('backfills consecutive partitions as a range, one as its key, others as a list', () => {
    assert.equal(partitionsArgument(keys, []), '');
    assert.equal(partitionsArgument(keys, [2]), 'c');
    assert.equal(partitionsArgument(keys, [1, 2, 3]), 'b...d');
    assert.equal(partitionsArgument(keys, [1, 3, 4]), 'b,d,e');
  });

  it('reads typed keys separated by commas, spaces or new lines, each once', () => {
    assert.deepEqual(parseKeyList(' acme, globex\ninitech  acme,,'), ['acme', 'globex', 'initech']);
    assert.deepEqual(parseKeyList(' , \n'), []);
  });

  it('draws only the rows in the viewport, with a few around it', () => {
    // 10,000 cells in 8 columns: 1,250 rows of 28 px; a 480 px window at row 100.
    const w = visibleRows({
      count: 10_000,
      columns: 8,
      rowHeight: 28,
      scrollTop: 2800,
      height: 480,
      overscan: 2,
    });
    assert.deepEqual(w, { first: 98, last: 120, rows: 1250 });
    assert.ok((w.last - w.first + 1) * 8 < 200);
    // At the end, the last row is the last one there is.
    assert.equal(
      visibleRows({ count: 10_000, columns: 8, rowHeight: 28, scrollTop: 1e9, height: 480 }).last,
      1249,
    );
    assert.deepEqual(visibleRows({ count: 0, columns: 0, rowHeight: 28, scrollTop: 0, height: 100 }).rows, 0);
  });

  it('merges consecutive equal statuses into the strip segments', () => {
    assert.deepEqual(
      statusSegments(statuses).map((s) => [s.status, s.start, s.count]),
      [
        ['MATERIALIZED', 0, 1],
        ['MISSING', 1, 1],
        ['FAILED', 2, 1],
        ['MISSING', 3, 2],
      ],
    );
  });

  it('draws a strip of many alternating statuses as at most so many boxes, each by its most severe status', () => {
    // Few segments: the segments themselves.
    assert.deepEqual(stripBoxes(statuses, 4), statusSegments(statuses));
    // 10,000 partitions: every 10th missing, every 50th (from the 5th) failed: 2,400 segments.
    const many: PartitionStatus[] = Array.from({ length: 10_000 }, (_, i) =>
      i % 50 === 5 ? 'FAILED' : i % 10 === 0 ? 'MISSING' : 'MATERIALIZED',
    );
    const dayKeys = many.map((_, i) => `k${i}`);
    assert.equal(statusSegments(many).length, 2400);
    const boxes = stripBoxes(many, 200);
    assert.ok(boxes.length <= 200, `${boxes.length} boxes`);
    // Every box of 50 has a failure: one failed box over everything, its counts in its label.
    assert.deepEqual(
      boxes.map((b) => [b.status, b.start, b.count]),
      [['FAILED', 0, 10_000]],
    );
    assert.deepEqual(boxes[0]!.mixed, { MATERIALIZED: 8800, FAILED: 200, IN_PROGRESS: 0, MISSING: 1000 });
    assert.equal(
      stripBoxLabel(dayKeys, boxes[0]!),
      'k0...k9999: 8,800 materialized, 200 failed, 1,000 missing',
    );
    // The boxes cover every partition once, in order; a range of one status stays its own box.
    const half: PartitionStatus[] = many.map((s, i) => (i < 5000 ? s : 'MATERIALIZED'));
    const split = stripBoxes(half, 200);
    assert.deepEqual(
      split.map((b) => [b.status, b.start, b.count, b.mixed === undefined]),
      [
        ['FAILED', 0, 5000, false],
        ['MATERIALIZED', 5000, 5000, true],
      ],
    );
    assert.equal(stripBoxLabel(dayKeys, split[1]!), 'k5000...k9999: materialized (5000)');
  });

  it("decodes the server's compact form to the keys and statuses it was made of", () => {
    const long = 'x'.repeat(50);
    const tricky = [
      '1999-01-01',
      '1999-01-02',
      '1999-01-10',
      '2000-02-01|kr',
      '2000-02-01|us',
      `${long}a`,
      `${long}b`,
      `${long}`,
      'é東京',
      'é東京2',
      '',
      '0',
    ];
    assert.deepEqual(frontCode(tricky.slice(0, 3)), ['01999-01-01', '92', '810']);
    const object = {
      assetKey: 'events',
      partitions: { type: 'static', description: 'static' },
      keys: tricky,
      statuses: tricky.map((_, i) => (['MATERIALIZED', 'FAILED', 'IN_PROGRESS', 'MISSING'] as const)[i % 4]!),
      counts: { MATERIALIZED: 3, FAILED: 3, IN_PROGRESS: 3, MISSING: 3 },
    };
    const compact = compactPartitionStatus(object);
    assert.equal(compact.statuses, '012301230123');
    const decoded = decodePartitionStatus(JSON.parse(JSON.stringify(compact)));
    assert.deepEqual(decoded, object);
    // A body that does not match its own description is an error, not a wrong grid.
    assert.throws(
      () => decodePartitionStatus({ ...JSON.parse(JSON.stringify(compact)), statuses: '01' }),
      /partition status of 'events' came in an unknown form .*12 keys, 2 statuses/,
    );
  });

  it('lays multi-partitions out as a matrix: rows of the dimension with the most values', () => {
    const multi = ['d1|kr', 'd1|us', 'd2|kr', 'd2|us', 'd3|kr', 'd3|us'];
    const m = partitionMatrix(multi, [0, 1, 2, 4, 5]);
    assert.equal(m.rowPart, 0);
    assert.deepEqual(m.rows, ['d1', 'd2', 'd3']);
    assert.deepEqual(m.columns, ['kr', 'us']);
    // d2|us (index 3) is not shown: a gap.
    assert.deepEqual([...m.cells], [0, 1, 2, -1, 4, 5]);
    // Regions first in the key: the dates are still the rows.
    const flipped = partitionMatrix(['kr|d1', 'kr|d2', 'kr|d3', 'us|d1'], [0, 1, 2, 3]);
    assert.equal(flipped.rowPart, 1);
    assert.deepEqual(flipped.rows, ['d1', 'd2', 'd3']);
    assert.deepEqual([...flipped.cells], [0, 3, 1, -1, 2, -1]);
  });
});
