import { defineAssetJob, schedule } from '@dag/core';
import { slackOnRunFailure } from '@dag/slack';

/** The daily customer sync: customers, their metafields, and the customer dimension. */
export const syncCustomer = defineAssetJob({
  name: 'sync_customer',
  description: 'Load BigCommerce customers and their metafields, then rebuild dim/dim_customer.',
  selection: ['src_customer', 'src_customer_metafields', 'dim/dim_customer'],
  tags: { pipeline: 'governance' },
});

/** The hourly notifications: the customer sync, the on-sale inventory, and the events. */
export const createProductNotificationEvent = defineAssetJob({
  name: 'create_product_notification_event',
  description:
    'Sync customers and the on-sale inventory, then write a notification event for each subscribed customer of a product now on sale and in stock.',
  selection: [
    'src_customer',
    'src_customer_metafields',
    'dim/dim_customer',
    'bigcommerce_onsale_product_inventory',
    'fct/fct_onsale_product_inventory',
    'op_product_notification_event',
  ],
  tags: { pipeline: 'governance' },
});

/** 02:00 in Seoul. Off until started: `dag schedule start daily_customer_sync`. */
export const dailyCustomerSync = schedule({
  name: 'daily_customer_sync',
  description: 'Sync BigCommerce customers every day at 02:00 Asia/Seoul.',
  cron: '0 2 * * *',
  timezone: 'Asia/Seoul',
  job: syncCustomer,
  defaultStatus: 'STOPPED',
});

/** Every hour on the hour in Seoul. Off until started: `dag schedule start hourly_product_notification`. */
export const hourlyProductNotification = schedule({
  name: 'hourly_product_notification',
  description: 'Create product notification events every hour, Asia/Seoul.',
  cron: '0 * * * *',
  timezone: 'Asia/Seoul',
  job: createProductNotificationEvent,
  defaultStatus: 'STOPPED',
});

/** A failed run of either job posts to Slack #data-alerts (SLACK_BOT_TOKEN, SLACK_ALERT_CHANNEL). */
export const governanceFailureAlert = slackOnRunFailure({
  name: 'governance_slack_on_failure',
  channel: '#data-alerts',
  monitoredJobs: [syncCustomer, createProductNotificationEvent],
});
