/**
 * The BigCommerce replica in a process of its own for the benchmark (so the client's work and
 * the replica's never share an event loop), driven over IPC: the bench forks this file and
 * sends `{ id, op, arg }`; the answer is `{ id, result }`.
 *
 *   ops: url, setRateLimit, setFaults, resetQuota, mutate, stats (counts and the requests'
 *   arrival times and statuses since `arg`), close
 */
import { ALL_READ_SCOPES, startBigCommerceReplica } from '@dag/replica-bigcommerce';

const config = JSON.parse(process.env.BENCH_REPLICA ?? '{}') as {
  token: string;
  storeHash: string;
  size?: { customers?: number; orders?: number; products?: number };
};
const replica = await startBigCommerceReplica({
  storeHash: config.storeHash,
  tokens: { [config.token]: ALL_READ_SCOPES },
  ...(config.size ? { size: config.size } : {}),
});

type Message = { id: number; op: string; arg?: unknown };
process.on('message', (message: Message) => {
  const answer = (result: unknown) => process.send?.({ id: message.id, result });
  switch (message.op) {
    case 'url':
      return answer(replica.url);
    case 'setRateLimit':
      replica.setRateLimit(message.arg as false | { quota: number; windowMs: number });
      return answer(null);
    case 'setFaults':
      replica.setFaults(message.arg as Record<string, unknown>);
      return answer(null);
    case 'resetQuota':
      replica.resetQuota();
      return answer(null);
    case 'mutate':
      return answer(replica.mutate(message.arg as { customers?: number; orders?: number }));
    case 'stats': {
      const from = Number(message.arg ?? 0);
      const { log, ...counts } = replica.stats;
      // Arrival times and statuses of the requests since index `from`, packed.
      const slice = log.slice(from);
      return answer({
        ...counts,
        logLength: log.length,
        at: slice.map((r) => r.at),
        status: slice.map((r) => r.status),
      });
    }
    case 'close':
      return void replica.close().then(() => {
        answer(null);
        process.exit(0);
      });
    default:
      return answer({ error: `unknown op ${message.op}` });
  }
});
process.send?.({ id: 0, result: 'ready' });
