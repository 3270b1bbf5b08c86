import { type JobDefinition, runStatusSensor, type SensorDefinition } from '@dag/core';
import { postRunFailure } from './post-run-failure.ts';
import { slackResource } from './slack-resource.ts';

export interface SlackOnRunFailureOptions {
  /** Default `slack_on_run_failure`. */
  name?: string;
  /** Default: the resource's channel (SLACK_ALERT_CHANNEL, `#data-alerts`). */
  channel?: string;
  /** Only failures of these jobs (default: every job of the code location). */
  monitoredJobs?: (JobDefinition | string)[];
  /** Default: RUNNING when SLACK_BOT_TOKEN is set in the environment that loads the definitions. */
  defaultStatus?: 'RUNNING' | 'STOPPED';
  minimumIntervalSeconds?: number;
}

/**
 * A run-status sensor that posts each failed run to Slack: job, failed step, the first lines
 * of the error, and a link to the run. Each failed run is posted once.
 *
 * @example
 * new Definitions({ ..., sensors: [slackOnRunFailure({ monitoredJobs: [syncCustomer] })] });
 */
export function slackOnRunFailure(options: SlackOnRunFailureOptions = {}): SensorDefinition {
  return runStatusSensor({
    name: options.name ?? 'slack_on_run_failure',
    description: `Posts failed runs to Slack (${options.channel ?? 'SLACK_ALERT_CHANNEL, default #data-alerts'}).`,
    runStatus: 'FAILURE',
    ...(options.monitoredJobs ? { monitoredJobs: options.monitoredJobs } : {}),
    minimumIntervalSeconds: options.minimumIntervalSeconds ?? 10,
    defaultStatus: options.defaultStatus ?? (process.env.SLACK_BOT_TOKEN ? 'RUNNING' : 'STOPPED'),
    resources: { slack: slackResource },
    fn: async ({ run, events, runUrl, resources, log }) => {
      const posted = await postRunFailure(resources.slack, {
        run,
        events: await events(),
        runUrl,
        ...(options.channel ? { channel: options.channel } : {}),
      });
      log.info(`posted the failure of run ${run.runId} to ${posted.channel}`);
      return undefined;
    },
  });
}
