import { parseArgs } from 'node:util';
import { type SlackReplicaFaults, startSlackReplica } from './start-slack-replica.ts';

const USAGE = `Usage: npx tsx replicas/slack/src/main.ts [options]

Serves the Slack Web API methods the alert bot uses (chat.postMessage, auth.test,
conversations.list) on loopback. Prints the API base URL (ending in /api/) on stdout and each
posted message on stderr.

Options (environment variable in brackets):
  --port <n>          port to listen on; 0 picks a free one [SLACK_REPLICA_PORT] (default 0)
  --host <addr>       loopback address to bind [SLACK_REPLICA_HOST] (default 127.0.0.1)
  --token <t>         the bot token to accept [SLACK_REPLICA_TOKEN] (default xoxb-replica-token)
  --channels <list>   comma-separated channel names [SLACK_REPLICA_CHANNELS] (default data-alerts,general)
  --faults <json>     e.g. '{"rateLimited":2,"retryAfterSeconds":1}' or '{"serverErrors":1,"delayMs":500}' [SLACK_REPLICA_FAULTS]
  --help              show this text

Point the client at it with SLACK_API_URL=<printed url> SLACK_BOT_TOKEN=<token>.`;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    token: { type: 'string' },
    channels: { type: 'string' },
    faults: { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const env = process.env;
const faultsText = values.faults ?? env.SLACK_REPLICA_FAULTS;
let faults: SlackReplicaFaults = {};
if (faultsText) {
  try {
    faults = JSON.parse(faultsText) as SlackReplicaFaults;
  } catch (error) {
    throw new Error(`--faults is not valid JSON: ${faultsText}`, { cause: error });
  }
}
const channels = (values.channels ?? env.SLACK_REPLICA_CHANNELS ?? 'data-alerts,general')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);

const replica = await startSlackReplica({
  token: values.token ?? env.SLACK_REPLICA_TOKEN ?? 'xoxb-replica-token',
  channels,
  faults,
  host: values.host ?? env.SLACK_REPLICA_HOST ?? '127.0.0.1',
  port: Number(values.port ?? env.SLACK_REPLICA_PORT ?? 0),
});
process.stdout.write(`${replica.url}\n`);
process.stderr.write(
  `Slack replica: channels ${replica.channels.map((c) => `#${c.name} (${c.id})`).join(', ')}.\n`,
);

// Echo accepted messages as they arrive, so a demo shows what the bot posted.
let shown = 0;
const echo = setInterval(() => {
  for (; shown < replica.messages.length; shown++) {
    const message = replica.messages[shown];
    if (message) process.stderr.write(`#${message.channelName} ${message.ts}: ${message.text}\n`);
  }
}, 200);

const stop = () => {
  clearInterval(echo);
  replica.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
