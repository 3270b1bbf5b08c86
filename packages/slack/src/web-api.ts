import { lazyRequire } from '@dag/core';

/**
 * @slack/web-api, loaded when a client is built or one of its errors is read: defining a Slack
 * resource (as listing a workspace does) does not pay for the SDK and its HTTP stack.
 */
export const slackWebApi = lazyRequire<typeof import('@slack/web-api')>('@slack/web-api', import.meta.url);
