import { after, before, describe, it } from 'node:test';
import { freshDatabase } from '../../../packages/core/test/support.ts';
import {
  assertTransformerOnFixture,
  type GovernanceWorld,
  governanceWorld,
} from './support/governance-fixture.ts';

const db = await freshDatabase();
// The SQL project compiles for the warehouse named when the definitions load.
process.env.WAREHOUSE_URL = db.url;

describe('the transformer and the notifications on PostgreSQL', () => {
  let world: GovernanceWorld;
  before(async () => {
    world = await governanceWorld();
  });
  after(async () => {
    await world?.t.cleanup();
    await db.drop();
  });

  it('builds dim, fct and mart from raw rows, passes every schema test, and notifies each subscriber once', async () => {
    await assertTransformerOnFixture(world, db.url);
  });
});
