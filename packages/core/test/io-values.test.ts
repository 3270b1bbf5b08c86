import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { asset, Definitions, materialize } from '../src/index.ts';
import { useFreshInstance } from './support.ts';

const t = useFreshInstance();

describe('default IO manager values', () => {
  test('Date, Map, Set, BigInt, Buffer and typed arrays round-trip exactly between assets', async () => {
    const original = {
      when: new Date('2026-11-03T01:02:03.456Z'),
      byId: new Map<string, { n: bigint }>([['a', { n: 2n ** 70n }]]),
      tags: new Set(['x', 'y']),
      big: -12345678901234567890n,
      bytes: Buffer.from('logo.png'),
      floats: new Float64Array([1.5, -0, Number.NaN]),
      u8: new Uint8Array([1, 2, 255]),
      nothing: undefined,
    };
    let received: unknown;
    const up = asset({ name: 'typed_up' }, async () => original);
    const down = asset({ name: 'typed_down', ins: { v: up } }, async (_ctx, { v }) => {
      received = v;
    });
    const result = await materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [up, down] }),
      selection: '*',
    });
    assert.equal(result.status, 'SUCCESS', result.error);
    assert.deepEqual(received, original);
    const got = received as typeof original;
    assert.ok(got.when instanceof Date);
    assert.ok(got.byId instanceof Map);
    assert.ok(Buffer.isBuffer(got.bytes));
    assert.ok(got.u8 instanceof Uint8Array && !Buffer.isBuffer(got.u8));
    assert.ok('nothing' in got);
  });

  test('plain JSON values are stored as readable JSON, as before', async () => {
    const plain = asset({ name: 'plain' }, async () => ({ rows: 3, names: ['a', 'b'] }));
    await materialize({
      instance: t.instance,
      definitions: new Definitions({ assets: [plain] }),
      selection: 'plain',
    });
    const text = await readFile(path.join(t.home, 'storage', 'plain.json'), 'utf8');
    assert.deepEqual(JSON.parse(text), { value: { rows: 3, names: ['a', 'b'] } });
  });

  test('a value it cannot store fails the step with an error naming the asset and the place', async () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const cases: [string, unknown, RegExp][] = [
      ['holds_fn', { nested: { f: () => 1 } }, /asset 'holds_fn'.*holds a function at value\.nested\.f/],
      ['holds_symbol', [Symbol('s')], /asset 'holds_symbol'.*holds a Symbol primitive at value\[0\]/],
      ['holds_class', { p: new Point(1) }, /asset 'holds_class'.*class instance .* at value\.p/],
    ];
    for (const [name, value, pattern] of cases) {
      const a = asset({ name }, async () => value);
      const result = await materialize({
        instance: t.instance,
        definitions: new Definitions({ assets: [a] }),
        selection: name,
      });
      assert.equal(result.status, 'FAILURE');
      assert.match(result.steps[0]!.error ?? '', pattern);
      assert.match(result.steps[0]!.error ?? '', /io: false/);
      // Nothing half-written: no file for the value.
      await assert.rejects(readFile(path.join(t.home, 'storage', `${name}.json`)), { code: 'ENOENT' });
      assert.equal((await t.instance.storage.getAssetRecords([name])).length, 0);
    }
  });
});
