import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BigCommerceClient } from '../src/bigcommerce/client.ts';
import { watchListenerLeaks } from './support/listener-leaks.ts';

/**
 * Several clients on one step's signal, each with its requests in flight at once: each request
 * listens to the signal until it ends. The listeners are bounded by the clients' concurrency, so
 * Node must not warn of a possible leak.
 */
describe('BigCommerce clients sharing a signal', () => {
  const CLIENTS = 2;
  const IN_FLIGHT = 8;
  let url: string;
  const held: ServerResponse[] = [];
  const first = new Set<string>();
  const server = createServer((req, res) => {
    const answer = (r: ServerResponse) => {
      r.writeHead(200, { 'content-type': 'application/json' });
      r.end('{"data":[],"meta":{}}');
    };
    // Each client's first request is answered at once (its pacer sends one request until an
    // answer says what the quota is); the others are held until all of them are in flight.
    const token = String(req.headers['x-auth-token']);
    if (!first.has(token)) {
      first.add(token);
      answer(res);
      return;
    }
    held.push(res);
    if (held.length === CLIENTS * IN_FLIGHT) for (const r of held.splice(0)) answer(r);
  });

  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it(`${CLIENTS} clients × ${IN_FLIGHT} requests in flight on one signal: no listener-leak warning`, async () => {
    const leaks = watchListenerLeaks();
    let warned: string[];
    try {
      const stop = new AbortController();
      const clients = Array.from(
        { length: CLIENTS },
        (_, i) =>
          new BigCommerceClient({
            accessToken: `token-${i}`,
            storeHash: 'abc',
            apiUrl: url,
            maxInFlight: IN_FLIGHT,
            signal: stop.signal,
          }),
      );
      await Promise.all(clients.map((c) => c.get('/v3/catalog/products')));
      const answers = await Promise.all(
        clients.flatMap((c) => Array.from({ length: IN_FLIGHT }, () => c.get('/v3/catalog/products'))),
      );
      assert.equal(answers.length, CLIENTS * IN_FLIGHT);
      // Node emits its warnings on a later turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      warned = leaks.stop();
    }
    assert.deepEqual(warned, []);
  });
});
