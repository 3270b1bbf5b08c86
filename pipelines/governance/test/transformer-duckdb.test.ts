import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../../packages/core/test/support.ts';
import {
  assertTransformerOnFixture,
  type GovernanceWorld,
  governanceWorld,
} from './support/governance-fixture.ts';

const dir = await tempDir('governance-duckdb-');
const url = `duckdb://${path.join(dir, 'warehouse.duckdb')}`;
// The SQL project compiles for the warehouse named when the definitions load.
process.env.WAREHOUSE_URL = url;

describe('the transformer and the notifications on DuckDB', () => {
  let world: GovernanceWorld;
  before(async () => {
    world = await governanceWorld();
  });
  after(async () => {
    await world?.t.cleanup();
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true, force: true });
  });

  it('builds dim, fct and mart from raw rows, passes every schema test, and notifies each subscriber once', async () => {
    await assertTransformerOnFixture(world, url);
  });
});
