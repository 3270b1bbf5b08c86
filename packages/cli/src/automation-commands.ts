import {
  type CodeLocation,
  Daemon,
  type DagInstance,
  isoWithOffset,
  nextTicks,
  type ScheduleDefinition,
  type SensorDefinition,
  UsageError,
  type Workspace,
} from '@dag/core';
import type { Command } from 'commander';
import pc from 'picocolors';
import { EXIT_RUN_FAILED } from './exit-codes.ts';
import { table } from './format.ts';

export interface AutomationContext {
  loadWorkspace: () => Promise<Workspace>;
  withInstance: <T>(fn: (instance: DagInstance) => Promise<T>) => Promise<T>;
  out: (text: string) => void;
  /** Sets the exit code of the command (EXIT_RUN_FAILED: the evaluated sensor failed). */
  setExit: (code: number) => void;
}

/** The schedule or sensor named `name` in any code location, or a UsageError listing them. */
function findInstigator<K extends 'schedule' | 'sensor'>(
  workspace: Workspace,
  kind: K,
  name: string,
): { def: K extends 'schedule' ? ScheduleDefinition : SensorDefinition; location: CodeLocation } {
  const mapOf = (l: CodeLocation) => (kind === 'schedule' ? l.definitions.schedules : l.definitions.sensors);
  for (const location of workspace.locations) {
    const def = mapOf(location).get(name);
    if (def) return { def: def as K extends 'schedule' ? ScheduleDefinition : SensorDefinition, location };
  }
  const all = workspace.locations.flatMap((l) => [...mapOf(l).keys()]);
  throw new UsageError(
    `Unknown ${kind} '${name}'. ${kind === 'schedule' ? 'Schedules' : 'Sensors'}: ${all.join(', ') || '(none)'}.`,
  );
}

function findSchedule(workspace: Workspace, name: string) {
  return findInstigator(workspace, 'schedule', name);
}

function findSensor(workspace: Workspace, name: string) {
  return findInstigator(workspace, 'sensor', name);
}

/** `dag schedule ...` and `dag sensor ...`. */
export function registerAutomationCommands(program: Command, ctx: AutomationContext): void {
  const scheduleCmd = program.command('schedule').description('list, start, stop and preview schedules');
  scheduleCmd
    .command('list')
    .description('schedules with their cron, zone, job, status and next tick')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const workspace = await ctx.loadWorkspace();
      await ctx.withInstance(async (instance) => {
        const states = new Map(
          (await instance.storage.getInstigatorStates())
            .filter((s) => s.type === 'schedule')
            .map((s) => [s.name, s]),
        );
        const now = new Date();
        const rows = workspace.locations.flatMap((l) =>
          [...l.definitions.schedules.values()].map((s) => ({
            name: s.name,
            location: l.name,
            cron: s.cron,
            timezone: s.timezone,
            job: s.jobName,
            status: states.get(s.name)?.status ?? s.defaultStatus,
            catchUp: s.catchUp,
            nextTick: isoWithOffset(nextTicks(s, now, 1)[0]!, s.timezone),
          })),
        );
        if (opts.json) return ctx.out(JSON.stringify({ schedules: rows }, null, 2));
        if (rows.length === 0) return ctx.out('No schedules.');
        ctx.out(
          table(
            ['SCHEDULE', 'CRON', 'ZONE', 'JOB', 'STATUS', 'NEXT TICK'],
            rows.map((r) => [
              r.name,
              r.cron,
              r.timezone,
              r.job,
              r.status === 'RUNNING' ? pc.green(r.status) : r.status,
              r.nextTick,
            ]),
          ),
        );
      });
    });
  for (const [verb, status] of [
    ['start', 'RUNNING'],
    ['stop', 'STOPPED'],
  ] as const) {
    scheduleCmd
      .command(`${verb} <name>`)
      .description(`${verb} a schedule (the daemon evaluates running schedules)`)
      .option('--json', 'machine-readable output')
      .action(async (name: string, opts: { json?: boolean }) => {
        const workspace = await ctx.loadWorkspace();
        findSchedule(workspace, name);
        await ctx.withInstance(async (instance) => {
          await instance.storage.setInstigatorStatus('schedule', name, status);
        });
        ctx.out(opts.json ? JSON.stringify({ schedule: name, status }) : `Schedule ${name} is ${status}.`);
      });
  }
  scheduleCmd
    .command('preview <name>')
    .description('the next tick times, in the schedule time zone')
    .option('-n, --count <n>', 'how many ticks', '5')
    .option('--json', 'machine-readable output (ISO-8601 timestamps with offset)')
    .action(async (name: string, opts: { count: string; json?: boolean }) => {
      const count = Number(opts.count);
      if (!Number.isInteger(count) || count <= 0 || count > 1000) {
        throw new UsageError(`--count must be an integer from 1 to 1000, got '${opts.count}'.`);
      }
      const { def } = findSchedule(await ctx.loadWorkspace(), name);
      const ticks = nextTicks(def, new Date(), count).map((d) => isoWithOffset(d, def.timezone));
      if (opts.json)
        return ctx.out(
          JSON.stringify({ schedule: name, cron: def.cron, timezone: def.timezone, ticks }, null, 2),
        );
      ctx.out(`${pc.bold(name)} (${def.cron}, ${def.timezone}):\n${ticks.map((t) => `  ${t}`).join('\n')}`);
    });

  const sensorCmd = program.command('sensor').description('list, start, stop and tick sensors');
  sensorCmd
    .command('list')
    .description('sensors with their type, job, interval, status and last tick')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const workspace = await ctx.loadWorkspace();
      await ctx.withInstance(async (instance) => {
        const states = new Map(
          (await instance.storage.getInstigatorStates())
            .filter((s) => s.type === 'sensor')
            .map((s) => [s.name, s]),
        );
        const rows = [];
        for (const l of workspace.locations) {
          for (const s of l.definitions.sensors.values()) {
            const [last] = await instance.storage.getTicks('sensor', s.name, 1);
            rows.push({
              name: s.name,
              location: l.name,
              type: s.type,
              job: s.jobName,
              minimumIntervalSeconds: s.minimumIntervalSeconds,
              status: states.get(s.name)?.status ?? s.defaultStatus,
              cursor: states.get(s.name)?.cursor ?? null,
              lastTick: last
                ? { at: last.tickTime.toISOString(), status: last.status, error: last.error }
                : null,
            });
          }
        }
        if (opts.json) return ctx.out(JSON.stringify({ sensors: rows }, null, 2));
        if (rows.length === 0) return ctx.out('No sensors.');
        ctx.out(
          table(
            ['SENSOR', 'TYPE', 'JOB', 'INTERVAL', 'STATUS', 'LAST TICK'],
            rows.map((r) => [
              r.name,
              r.type,
              r.job ?? '-',
              `${r.minimumIntervalSeconds}s`,
              r.status === 'RUNNING' ? pc.green(r.status) : r.status,
              r.lastTick ? `${r.lastTick.at} ${r.lastTick.status}` : '-',
            ]),
          ),
        );
      });
    });
  for (const [verb, status] of [
    ['start', 'RUNNING'],
    ['stop', 'STOPPED'],
  ] as const) {
    sensorCmd
      .command(`${verb} <name>`)
      .description(`${verb} a sensor`)
      .option('--json', 'machine-readable output')
      .action(async (name: string, opts: { json?: boolean }) => {
        findSensor(await ctx.loadWorkspace(), name);
        await ctx.withInstance(async (instance) => {
          await instance.storage.setInstigatorStatus('sensor', name, status);
        });
        ctx.out(opts.json ? JSON.stringify({ sensor: name, status }) : `Sensor ${name} is ${status}.`);
      });
  }
  sensorCmd
    .command('tick <name>')
    .description('evaluate a sensor once now; the runs it requests are queued for the daemon')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { json?: boolean }) => {
      const workspace = await ctx.loadWorkspace();
      const { location } = findSensor(workspace, name);
      await ctx.withInstance(async (instance) => {
        const daemon = new Daemon({ instance, locations: [location], launch: async () => {} });
        const summary = await daemon.tickSensor(name);
        const [last] = await instance.storage.getTicks('sensor', name, 1);
        const result = {
          sensor: name,
          status: last?.status ?? null,
          runsRequested: summary.runsRequested,
          skipReason: last?.skipReason ?? null,
          error: last?.error ?? null,
          cursor: last?.cursor ?? null,
        };
        if (result.status === 'FAILURE') ctx.setExit(EXIT_RUN_FAILED);
        if (opts.json) return ctx.out(JSON.stringify(result, null, 2));
        ctx.out(
          `Sensor ${name}: ${result.status}${result.runsRequested.length ? `, queued ${result.runsRequested.length} run(s): ${result.runsRequested.join(', ')}` : ''}${result.skipReason ? ` (${result.skipReason})` : ''}${result.error ? `\n${pc.red(result.error)}` : ''}`,
        );
      });
    });
}
