/**
 * A loopback TCP proxy that adds latency: every chunk from the client is forwarded to the
 * upstream `delayMs` later (in order), so each HTTP request reaches the server `delayMs` late.
 * Usage: node --import tsx bench/ds/delay-proxy.ts <upstream port> <delay ms>
 * Prints `PROXY_READY <port>`; exits on SIGTERM or when stdin closes.
 */
import net from 'node:net';

const upstreamPort = Number(process.argv[2]);
const delayMs = Number(process.argv[3]);
if (!upstreamPort || Number.isNaN(delayMs))
  throw new Error('usage: delay-proxy.ts <upstream port> <delay ms>');

const sockets = new Set<net.Socket>();
const server = net.createServer((client) => {
  const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort });
  sockets.add(client);
  sockets.add(upstream);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.on('data', (chunk) => {
    setTimeout(() => {
      if (!upstream.destroyed) upstream.write(chunk);
    }, delayMs);
  });
  client.on('end', () => setTimeout(() => upstream.end(), delayMs));
  upstream.pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
    sockets.delete(client);
    sockets.delete(upstream);
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', () => setTimeout(close, delayMs));
  upstream.on('close', close);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`PROXY_READY ${address.port}\n`);
});
const stop = () => {
  for (const socket of sockets) socket.destroy();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
