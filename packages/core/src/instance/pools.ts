import type pg from 'pg';
import { assertValidName } from '../definitions/validation.ts';
import { UsageError } from '../errors.ts';
import type { DagInstance } from './dag-instance.ts';
import type { PostgresStorage } from './postgres-storage.ts';

/**
 * Concurrency pools: `pool: 'bigcommerce'` on an asset or op caps how many of its steps run at
 * once across every run, process and machine sharing the instance (Dagster's pools). The limit
 * is the instance's (`dag pool set`); a pool without one is unlimited.
 *
 * A slot is a row of `concurrency_slots`. A claim locks the pool's row (SELECT ... FOR UPDATE),
 * then counts the slots in use in a statement of its own (so it sees every claim committed
 * before it got the lock) and inserts only under the limit: two claimants never both take the
 * last slot. A slot is deleted when its step ends, and by a trigger on `runs` when its run
 * ends, however it ends (migration 000011). Every release notifies `dag_pool_slots`; waiting
 * steps listen on it (one connection per process) and poll with a capped backoff besides.
 */
export const POOL_CHANNEL = 'dag_pool_slots';

/** The longest a waiting step goes without looking again, notification or not. */
const MAX_POLL_MS = 5_000;
const FIRST_POLL_MS = 100;

export interface PoolSlotHolder {
  runId: string;
  /** The step (or multi-asset) holding the slot. */
  slotKey: string;
  claimedAt: Date;
}

export interface PoolInfo {
  name: string;
  /** Null: no limit set (unlimited). */
  limit: number | null;
  inUse: number;
  holders: PoolSlotHolder[];
}

export interface ClaimOutcome {
  claimed: boolean;
  limit: number | null;
  /** Slots in use, this claim included. */
  inUse: number;
}

export interface AcquireOptions {
  signal?: AbortSignal;
  /** Called once, when the first claim finds the pool full. */
  onWait?: (outcome: ClaimOutcome) => void;
  /**
   * Called between polls while waiting, with the runs holding the pool's slots: lets the caller
   * end runs whose owner is gone (their slots are then freed with them).
   */
  onStillWaiting?: (holderRunIds: string[]) => Promise<void>;
}

export function assertPoolName(name: unknown): asserts name is string {
  assertValidName(name, 'pool');
}

/** The pools of an instance (on its database). Close it when done if it may have waited. */
export function instancePools(instance: DagInstance): ConcurrencyPools {
  return new ConcurrencyPools((instance.storage as PostgresStorage).pool);
}

export class ConcurrencyPools {
  private listener: pg.PoolClient | undefined;
  private listening: Promise<pg.PoolClient | undefined> | undefined;
  private readonly waiters = new Set<() => void>();
  /** Acquires waiting now: the LISTEN connection is kept while there is one. */
  private waiting = 0;

  constructor(private readonly db: pg.Pool) {}

  async setLimit(name: string, limit: number): Promise<void> {
    assertPoolName(name);
    if (!Number.isInteger(limit) || limit < 0) {
      throw new UsageError(
        `The limit of pool '${name}' must be a whole number >= 0 (0 pauses the pool), got ${limit}.`,
      );
    }
    await this.db.query(
      `INSERT INTO concurrency_pools (name, slot_limit) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET slot_limit = EXCLUDED.slot_limit, updated_at = now()`,
      [name, limit],
    );
    // A raised limit lets waiting steps in.
    await this.db.query('SELECT pg_notify($1, $2)', [POOL_CHANNEL, name]);
  }

  /** Removes a pool's limit (its steps then run unlimited); false if it had none. */
  async deleteLimit(name: string): Promise<boolean> {
    const result = await this.db.query('DELETE FROM concurrency_pools WHERE name = $1', [name]);
    await this.db.query('SELECT pg_notify($1, $2)', [POOL_CHANNEL, name]);
    return (result.rowCount ?? 0) > 0;
  }

  /** Every pool with a limit or a slot in use, by name. */
  async list(): Promise<PoolInfo[]> {
    const { rows: limits } = await this.db.query<{ name: string; slot_limit: number }>(
      'SELECT name, slot_limit FROM concurrency_pools',
    );
    const { rows: slots } = await this.db.query<{
      pool: string;
      run_id: string;
      slot_key: string;
      claimed_at: Date;
    }>('SELECT pool, run_id, slot_key, claimed_at FROM concurrency_slots ORDER BY claimed_at');
    const pools = new Map<string, PoolInfo>();
    const get = (name: string) => {
      let info = pools.get(name);
      if (!info) {
        info = { name, limit: null, inUse: 0, holders: [] };
        pools.set(name, info);
      }
      return info;
    };
    for (const row of limits) get(row.name).limit = row.slot_limit;
    for (const row of slots) {
      const info = get(row.pool);
      info.inUse++;
      info.holders.push({ runId: row.run_id, slotKey: row.slot_key, claimedAt: row.claimed_at });
    }
    return [...pools.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One attempt to take a slot; claiming a slot this run's step already holds succeeds again. */
  async tryClaim(pool: string, runId: string, slotKey: string): Promise<ClaimOutcome> {
    const client = await this.db.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ slot_limit: number }>(
        'SELECT slot_limit FROM concurrency_pools WHERE name = $1 FOR UPDATE',
        [pool],
      );
      const limit = rows[0]?.slot_limit ?? null;
      // A statement of its own, after the lock: it sees every claim committed before.
      const { rows: counted } = await client.query<{ n: number; mine: boolean }>(
        `SELECT count(*)::int AS n, coalesce(bool_or(run_id = $2 AND slot_key = $3), false) AS mine
           FROM concurrency_slots WHERE pool = $1`,
        [pool, runId, slotKey],
      );
      const { n, mine } = counted[0]!;
      if (mine) {
        await client.query('COMMIT');
        return { claimed: true, limit, inUse: n };
      }
      if (limit !== null && n >= limit) {
        await client.query('COMMIT');
        return { claimed: false, limit, inUse: n };
      }
      // Only a run that has not finished may hold a slot (a finished run's slots are freed by
      // the trigger, and it must not take new ones afterwards).
      const inserted = await client.query(
        `INSERT INTO concurrency_slots (pool, run_id, slot_key)
           SELECT $1, $2, $3 WHERE EXISTS (
             SELECT 1 FROM runs WHERE run_id = $2 AND status NOT IN ('SUCCESS', 'FAILURE', 'CANCELED'))`,
        [pool, runId, slotKey],
      );
      await client.query('COMMIT');
      if ((inserted.rowCount ?? 0) === 0) {
        throw new UsageError(
          `Run ${runId} cannot take a slot of pool '${pool}': the run does not exist or has already finished.`,
        );
      }
      return { claimed: true, limit, inUse: n + 1 };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async release(pool: string, runId: string, slotKey: string): Promise<void> {
    const result = await this.db.query(
      'DELETE FROM concurrency_slots WHERE pool = $1 AND run_id = $2 AND slot_key = $3',
      [pool, runId, slotKey],
    );
    if ((result.rowCount ?? 0) > 0) await this.db.query('SELECT pg_notify($1, $2)', [POOL_CHANNEL, pool]);
  }

  /** The runs holding slots of a pool. */
  async holderRunIds(pool: string): Promise<string[]> {
    const { rows } = await this.db.query<{ run_id: string }>(
      'SELECT DISTINCT run_id FROM concurrency_slots WHERE pool = $1',
      [pool],
    );
    return rows.map((r) => r.run_id);
  }

  /**
   * Takes a slot, waiting as long as the pool is full: woken by a release's notification, and
   * looking again after a backoff (100 ms doubling to 5 s) in case a notification was missed.
   * Returns how long it waited. Rejects with the signal's reason when aborted.
   */
  async acquire(
    pool: string,
    runId: string,
    slotKey: string,
    options: AcquireOptions = {},
  ): Promise<{ waitedMs: number; outcome: ClaimOutcome }> {
    const started = Date.now();
    const first = await this.tryClaim(pool, runId, slotKey);
    if (first.claimed) return { waitedMs: 0, outcome: first };
    options.onWait?.(first);
    this.waiting++;
    try {
      let delay = FIRST_POLL_MS;
      for (;;) {
        options.signal?.throwIfAborted();
        // Listening before looking again: a release between the look and the wait wakes it.
        await this.listen();
        const outcome = await this.tryClaim(pool, runId, slotKey);
        if (outcome.claimed) return { waitedMs: Date.now() - started, outcome };
        await this.sleepUntilWoken(delay, options.signal);
        delay = Math.min(delay * 2, MAX_POLL_MS);
        if (options.onStillWaiting) await options.onStillWaiting(await this.holderRunIds(pool));
      }
    } finally {
      if (--this.waiting === 0) await this.close();
    }
  }

  /** Stops listening (the process's waiters then only poll). */
  async close(): Promise<void> {
    const client = this.listener ?? (await this.listening?.catch(() => undefined));
    this.listener = undefined;
    this.listening = undefined;
    if (client) {
      await client.query(`UNLISTEN ${POOL_CHANNEL}`).catch(() => {});
      client.release();
    }
  }

  private sleepUntilWoken(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** One LISTEN connection per process while steps wait; a broken one is dropped (polling goes on). */
  private async listen(): Promise<void> {
    if (this.listener) return;
    this.listening ??= (async () => {
      try {
        const client = await this.db.connect();
        client.on('notification', () => {
          for (const wake of [...this.waiters]) wake();
        });
        client.on('error', () => {
          if (this.listener === client) this.listener = undefined;
          this.listening = undefined;
          client.release(true);
        });
        await client.query(`LISTEN ${POOL_CHANNEL}`);
        this.listener = client;
        return client;
      } catch {
        this.listening = undefined;
        return undefined;
      }
    })();
    await this.listening;
  }
}
