/** The run page's event merging, step timeline and filters, and asset statuses (pure). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EventType, normalizeEventData } from '@dag/core/events';
import type { RunRecord, StoredEvent } from '../src/api/types.ts';
import { matchesQuery, searchText, selectionOfKeys } from '../src/lib/asset-status.ts';
import {
  filterEvents,
  isTerminalEvent,
  mergeEvents,
  progressByStep,
  runSteps,
  timelineBars,
} from '../src/lib/run-events.ts';
import { parseRoute } from '../src/router.ts';

let nextId = 1;
/** An event as the API sends it (data normalized as storage reads it). */
function ev(
  type: EventType,
  ts: string,
  extra: Partial<Omit<StoredEvent, 'data'>> & { data?: Record<string, unknown> | null } = {},
): StoredEvent {
  const { data, ...rest } = extra;
  return {
    id: nextId++,
    runId: 'r1',
    type,
    ts: `2026-11-22T00:00:${ts}.000Z`,
    stepKey: null,
    assetKey: null,
    level: 'info',
    message: type,
    ...rest,
    data: normalizeEventData(type, data ?? null),
  } as StoredEvent;
}

describe('mergeEvents', () => {
  it('appends new events, drops duplicates by id, keeps id order, and returns the same array when nothing is new', () => {
    const a = ev('RUN_START', '00');
    const b = ev('LOG', '01');
    const c = ev('LOG', '02');
    const list = mergeEvents([], [a, b]);
    assert.deepEqual(
      list.map((e) => e.id),
      [a.id, b.id],
    );
    assert.equal(mergeEvents(list, [a, b]), list, 'replayed events change nothing');
    assert.deepEqual(
      mergeEvents(list, [b, c]).map((e) => e.id),
      [a.id, b.id, c.id],
    );
    // Out of order (a backfill after the stream): sorted.
    assert.deepEqual(
      mergeEvents([a, c], [b]).map((e) => e.id),
      [a.id, b.id, c.id],
    );
  });
});

describe('steps and timeline', () => {
  const error = { name: 'Error', message: 'boom' };
  const events = [
    ev('RUN_START', '00', { data: { steps: ['a', 'b', 'c'], pid: 1 } }),
    ev('STEP_START', '01', { stepKey: 'a' }),
    ev('STEP_PROGRESS', '02', { stepKey: 'a', data: { done: 3, total: 10 }, message: '3/10' }),
    ev('STEP_SUCCESS', '05', { stepKey: 'a', data: { durationMs: 4000, attempts: 1 } }),
    ev('STEP_START', '05', { stepKey: 'b' }),
    ev('STEP_UP_FOR_RETRY', '06', { stepKey: 'b', data: { attempt: 1, delayMs: 10, error } }),
    ev('STEP_RESTARTED', '06', { stepKey: 'b' }),
    ev('STEP_FAILURE', '09', { stepKey: 'b', data: { canceled: false, error, attempts: 2 } }),
    ev('STEP_SKIPPED', '09', { stepKey: 'c', data: { reason: "upstream step 'b' failed", canceled: false } }),
    ev('RUN_FAILURE', '10', { data: { failedSteps: ['b'] } }),
  ];
  const run = { status: 'STARTED', assetSelection: null, stepKeys: null, endedAt: null, error: null } as
    | RunRecord
    | undefined;
  const apiSteps = [
    {
      key: 'a',
      status: 'running',
      startedAt: '2026-11-22T00:00:01.000Z',
      endedAt: null,
      attempts: 1,
      error: null,
    },
    { key: 'b', status: 'pending', startedAt: null, endedAt: null, attempts: 0, error: null },
  ] as const;

  it('derives step states from the events with the core derivation', () => {
    const steps = runSteps([...apiSteps], events, run, true);
    assert.deepEqual(
      steps.map((s) => [s.key, s.status, s.attempts]),
      [
        ['a', 'success', 1],
        ['b', 'failure', 2],
        ['c', 'skipped', 0],
      ],
    );
    assert.deepEqual(progressByStep(events).get('a'), { done: 3, total: 10, message: '3/10' });
    assert.ok(isTerminalEvent('RUN_FAILURE') && !isTerminalEvent('STEP_FAILURE'));
  });

  it("keeps the API's steps until the events reach back to the run's start", () => {
    const later = events.filter((e) => e.type !== 'RUN_START');
    assert.deepEqual(
      runSteps([...apiSteps], later, run, true).map((s) => [s.key, s.status]),
      [
        ['a', 'running'],
        ['b', 'pending'],
      ],
    );
  });

  it('shows a step the run stopped as canceled, from the event field', () => {
    const terminated = [
      ev('RUN_START', '00', { data: { steps: ['a', 'b'], pid: 1 } }),
      ev('STEP_START', '01', { stepKey: 'a' }),
      ev('RUN_CANCELING', '02'),
      ev('STEP_FAILURE', '03', { stepKey: 'a', message: 'Interrupted', data: { canceled: true, error } }),
      // Stored before STEP_SKIPPED had `canceled`: read from its reason, as it was written.
      ev('STEP_SKIPPED', '03', { stepKey: 'b', data: { reason: 'the run was terminated' } }),
      ev('RUN_CANCELED', '04'),
    ];
    assert.deepEqual(
      runSteps([], terminated, undefined, true).map((s) => [s.key, s.status]),
      [
        ['a', 'canceled'],
        ['b', 'canceled'],
      ],
    );
  });

  it('does not close a running step on the run record alone while its events are still arriving', () => {
    const partial = [
      ev('RUN_START', '00', { data: { steps: ['a', 'b'], pid: 1 } }),
      ev('STEP_START', '01', { stepKey: 'a' }),
      ev('STEP_SUCCESS', '02', { stepKey: 'a', data: { durationMs: 1000, attempts: 1 } }),
      ev('STEP_START', '02', { stepKey: 'b' }),
    ];
    const ended = {
      status: 'SUCCESS',
      assetSelection: null,
      stepKeys: null,
      endedAt: '2026-11-22T00:00:04.000Z',
      error: null,
    } as unknown as RunRecord;
    // The record already says SUCCESS; b's STEP_SUCCESS has not reached the page yet.
    assert.deepEqual(
      runSteps([], partial, ended, false).map((s) => [s.key, s.status]),
      [
        ['a', 'success'],
        ['b', 'running'],
      ],
    );
    // Once the log is complete, the record closes what the events left open.
    assert.deepEqual(
      runSteps([], partial, { ...ended, status: 'FAILURE' } as RunRecord, true).map((s) => [s.key, s.status]),
      [
        ['a', 'success'],
        ['b', 'failure'],
      ],
    );
  });

  it('places bars on the run span', () => {
    const steps = runSteps([], events, undefined, true);
    const bars = timelineBars(steps, '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:10.000Z');
    assert.deepEqual(
      bars.map((b) => [b.key, Math.round(b.left), Math.round(b.width), b.durationMs]),
      [
        ['a', 10, 40, 4000],
        ['b', 50, 40, 4000],
        ['c', 0, 0, null],
      ],
    );
    // A running step grows until now.
    const running = timelineBars(
      [
        {
          key: 'x',
          status: 'running',
          startedAt: '2026-11-22T00:00:00.000Z',
          endedAt: null,
          attempts: 1,
          error: null,
        },
      ],
      '2026-11-22T00:00:00.000Z',
      null,
      Date.parse('2026-11-22T00:00:04.000Z'),
    );
    assert.deepEqual([running[0]!.left, running[0]!.width, running[0]!.durationMs], [0, 100, 4000]);
  });

  it('filters by kind, level, step and text', () => {
    const logs = [
      ev('LOG', '01', { stepKey: 'a', level: 'debug', message: 'detail' }),
      ev('LOG', '02', { stepKey: 'a', level: 'warn', message: '무신사 logo missing' }),
      ev('STEP_START', '03', { stepKey: 'b' }),
    ];
    const base = { level: 'debug' as const, kind: 'all' as const, step: '', text: '' };
    assert.equal(filterEvents(logs, base).length, 3);
    assert.equal(filterEvents(logs, { ...base, kind: 'logs' }).length, 2);
    assert.equal(filterEvents(logs, { ...base, kind: 'steps' }).length, 1);
    assert.equal(filterEvents(logs, { ...base, level: 'warn' }).length, 1);
    assert.equal(filterEvents(logs, { ...base, step: 'b' }).length, 1);
    assert.equal(filterEvents(logs, { ...base, text: '무신사' }).length, 1);
  });
});

describe('search, selection and routes', () => {
  it('searches Korean text and every term', () => {
    const text = searchText('ds_img_finalize', 'DS', '브랜드 로고를 게시합니다');
    assert.ok(matchesQuery(text, '브랜드'));
    assert.ok(matchesQuery(text, 'ds 로고'));
    assert.ok(!matchesQuery(text, 'ds 무신사'));
    // NFD input (as some keyboards produce) matches NFC text.
    assert.ok(matchesQuery(text, '브랜드'.normalize('NFD')));
  });

  it('builds a selection of exactly these assets', () => {
    assert.equal(selectionOfKeys(['a', 'ds_png2webp']), 'key:a or key:ds_png2webp');
    assert.equal(selectionOfKeys(['and', 'x*y']), 'key:"and" or key:"x*y"');
  });

  it('parses hash routes', () => {
    const route = parseRoute('#/assets/a%2Fb?location=ds');
    assert.deepEqual(route.segments, ['assets', 'a/b']);
    assert.equal(route.query.get('location'), 'ds');
    assert.deepEqual(parseRoute('').segments, []);
  });
});
