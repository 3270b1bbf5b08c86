import { type ScheduleDefinition, type ScheduleOptions, schedule } from '../definitions/automation.ts';
import type { AssetJobDefinition } from '../definitions/job.ts';
import { DefinitionError } from '../errors.ts';
import { cadenceCron, partitionKeys } from './partitions.ts';

/**
 * A schedule for a job of time-partitioned assets: it ticks when each partition closes (at the
 * cadence, in the partitions' time zone) and each tick runs the partition that has just
 * closed, as Dagster's build_schedule_from_partitioned_job.
 *
 * @example
 * buildScheduleFromPartitionedJob({ job: defineAssetJob({ name: 'daily_events', selection: 'events', partitions }) });
 */
export function buildScheduleFromPartitionedJob(
  options: Omit<ScheduleOptions, 'cron' | 'timezone' | 'job' | 'partitions' | 'name'> & {
    job: AssetJobDefinition;
    /** Default: `<job name>_schedule`. */
    name?: string;
  },
): ScheduleDefinition {
  const { job, ...rest } = options;
  const partitions = job?.partitions;
  if (partitions?.type !== 'time') {
    throw new DefinitionError(
      `buildScheduleFromPartitionedJob: job '${job?.name}' needs time partitions (defineAssetJob({ ..., partitions: dailyPartitions(...) })).`,
    );
  }
  return schedule({
    ...rest,
    name: options.name ?? `${job.name}_schedule`,
    cron: cadenceCron(partitions),
    timezone: partitions.timezone,
    job,
    partitions,
  });
}

/** The partition a partitioned schedule's tick runs: the last one complete at the tick time. */
export function partitionForTick(schedule: ScheduleDefinition, tickTime: Date): string | undefined {
  if (!schedule.partitions) return undefined;
  return partitionKeys(schedule.partitions, { now: tickTime, dynamicKeys: () => [] }).at(-1);
}
