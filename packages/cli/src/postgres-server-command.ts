import { servePostgres, UsageError } from '@dag/core';
import type { Command } from 'commander';

interface ServeOptions {
  dataDir: string;
  host: string;
  port: string;
  user: string;
  database: string;
}

/** Shortest password accepted for a server that listens beyond loopback. */
const MIN_PASSWORD_LENGTH = 12;

/**
 * Adds `dag instance serve-postgres` to the `instance` command: the embedded PostgreSQL's
 * programs as a plain server in the foreground, for a deployment whose database runs from the
 * dag image (deploy/compose.yaml). The password comes from DAG_POSTGRES_PASSWORD, never an
 * argument.
 */
export function registerPostgresServer(instance: Command, err: (text: string) => void): Command {
  return instance
    .command('serve-postgres')
    .description(
      'run the embedded PostgreSQL as a plain server in the foreground (password from DAG_POSTGRES_PASSWORD)',
    )
    .requiredOption('--data-dir <dir>', 'the cluster folder (created on first start)')
    .option('--host <addresses>', 'listen_addresses', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '5432')
    .option('--user <name>', 'the role created with the cluster', 'dag')
    .option('--database <name>', 'the database to create', 'dag')
    .action(async (opts: ServeOptions) => {
      const password = process.env.DAG_POSTGRES_PASSWORD ?? '';
      if (password.length < MIN_PASSWORD_LENGTH) {
        throw new UsageError(
          `DAG_POSTGRES_PASSWORD must be set to the database password (at least ${MIN_PASSWORD_LENGTH} characters, e.g. \`openssl rand -hex 24\`).`,
        );
      }
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 1 || port > 65_535) {
        throw new UsageError(`--port must be an integer from 1 to 65535, got '${opts.port}'.`);
      }
      for (const [flag, value] of [
        ['--user', opts.user],
        ['--database', opts.database],
      ] as const) {
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) {
          throw new UsageError(`${flag} must be a lower-case SQL name (letters, digits, _), got '${value}'.`);
        }
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const code = await servePostgres({
          dataDir: opts.dataDir,
          host: opts.host,
          port,
          user: opts.user,
          password,
          database: opts.database,
          signal: stop.signal,
          log: (line) => err(`dag instance serve-postgres: ${line}`),
        });
        if (code !== 0 && !stop.signal.aborted) {
          throw new UsageError(`PostgreSQL exited with code ${code}; its log is above.`);
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
