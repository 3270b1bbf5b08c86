import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, type ServerFixture, serverFixture } from './support.ts';

const SQL_DEFINITIONS = path.join(import.meta.dirname, '../../cli/test/fixtures/sql.ts');

describe('SQL models in the API', () => {
  let f: ServerFixture;
  before(async () => {
    f = await serverFixture({ file: SQL_DEFINITIONS });
  });
  after(async () => {
    await f.close();
  });

  test('an asset key with a path is addressed encoded; its detail carries the model SQL', async () => {
    const res = await call<{
      asset: {
        key: string;
        external: boolean;
        definitionMetadata: Record<string, { type: string; value: string }>;
      };
    }>(f.app, `/api/assets/${encodeURIComponent('fct/fct_order')}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.asset.key, 'fct/fct_order');
    assert.equal(res.body.asset.external, false);
    const sql = res.body.asset.definitionMetadata.sql!;
    assert.equal(sql.type, 'markdown');
    assert.match(sql.value, /^```sql\n\{\{ config\(materialized='incremental'/);
    assert.equal(res.body.asset.definitionMetadata.relation?.value, 'fct.fct_order');
    const source = await call<{ asset: { external: boolean } }>(
      f.app,
      `/api/assets/${encodeURIComponent('raw/orders')}`,
    );
    assert.equal(source.body.asset.external, true);
  });
});
