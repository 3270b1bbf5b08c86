import { assertPoolName, type DagInstance, instancePools, UsageError } from '@dag/core';
import type { Command } from 'commander';
import { table } from './format.ts';

export interface PoolCommandContext {
  withInstance: <T>(fn: (instance: DagInstance) => Promise<T>) => Promise<T>;
  out: (text: string) => void;
}

/** `dag pool set|list|delete`: the limits of concurrency pools (`pool: '...'` on assets and ops). */
export function registerPoolCommands(program: Command, ctx: PoolCommandContext): void {
  const pool = program
    .command('pool')
    .description('concurrency pools: how many steps naming a pool run at once, across all runs');
  pool
    .command('set <name> <limit>')
    .description('set the limit of a pool (0 pauses its steps)')
    .action(async (name: string, limitText: string) => {
      assertPoolName(name);
      const limit = Number(limitText);
      if (!/^\d+$/.test(limitText.trim()) || !Number.isSafeInteger(limit)) {
        throw new UsageError(
          `The limit of pool '${name}' must be a whole number >= 0 (0 pauses the pool), got '${limitText}'.`,
        );
      }
      await ctx.withInstance(async (instance) => {
        await instancePools(instance).setLimit(name, limit);
        ctx.out(`Pool '${name}': at most ${limit} step${limit === 1 ? '' : 's'} at once.`);
      });
    });
  pool
    .command('list')
    .description('pools with their limit and the slots in use')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await ctx.withInstance(async (instance) => {
        const pools = await instancePools(instance).list();
        if (opts.json) return ctx.out(JSON.stringify({ pools }, null, 2));
        if (pools.length === 0) {
          return ctx.out("No pools. Set a limit with 'dag pool set <name> <limit>'.");
        }
        ctx.out(
          table(
            ['POOL', 'LIMIT', 'IN USE', 'HELD BY'],
            pools.map((p) => [
              p.name,
              p.limit === null ? 'unlimited' : String(p.limit),
              String(p.inUse),
              p.holders.map((h) => `${h.runId.slice(0, 8)}:${h.slotKey}`).join(', '),
            ]),
          ),
        );
      });
    });
  pool
    .command('delete <name>')
    .description("remove a pool's limit (its steps then run without one)")
    .action(async (name: string) => {
      await ctx.withInstance(async (instance) => {
        const deleted = await instancePools(instance).deleteLimit(name);
        if (!deleted) throw new UsageError(`Pool '${name}' has no limit set. See 'dag pool list'.`);
        ctx.out(`Pool '${name}' has no limit now.`);
      });
    });
}
