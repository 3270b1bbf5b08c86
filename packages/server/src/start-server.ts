import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '@dag/core';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from './create-app.ts';
import type { AppOptions, Launcher } from './interfaces.ts';
import { RunLauncher, type RunLauncherOptions } from './run-launcher.ts';

/** Shortest token accepted: anything shorter can be guessed from the network. */
export const MIN_TOKEN_LENGTH = 16;

export interface StartServerOptions extends Omit<AppOptions, 'launcher'> {
  /** Default 127.0.0.1. Any other address requires a token. */
  host?: string;
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default: a RunLauncher (one child process per run) for this workspace and instance. */
  launcher?: Launcher;
  /** Options of the default launcher. */
  launcherOptions?: Partial<RunLauncherOptions>;
}

export interface RunningServer {
  app: Hono;
  launcher: Launcher;
  host: string;
  port: number;
  /** The address to open, without the token. */
  url: string;
  /** Stops accepting requests, ends open streams, and stops the runs this server launched. */
  close(): Promise<void>;
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopbackAddress(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Throws a UsageError unless this host/token combination is safe to serve. */
export function checkBinding(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new UsageError(
      `DAG_UI_TOKEN is too short (${token.length} characters); use at least ${MIN_TOKEN_LENGTH}, e.g. the output of \`openssl rand -hex 32\`.`,
    );
  }
  if (!isLoopbackAddress(host) && token === undefined) {
    throw new UsageError(
      `Refusing to listen on ${host} without a token: anyone who can reach that address could launch and terminate runs. Set DAG_UI_TOKEN to a long random value (e.g. \`export DAG_UI_TOKEN=$(openssl rand -hex 32)\`), or bind 127.0.0.1.`,
    );
  }
}

/**
 * Serves the API and the UI. Refuses a non-loopback host without a token.
 *
 * @example
 * const server = await startServer({ workspace, instance, port: 3000 });
 * console.log(server.url);
 * await server.close();
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 3000;
  checkBinding(host, options.token);
  const launcher =
    options.launcher ??
    new RunLauncher({ instance: options.instance, workspace: options.workspace, ...options.launcherOptions });
  const app = createApp({ ...options, launcher });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new UsageError(`Port ${port} on ${host} is already in use; choose another with --port.`, {
              cause: error,
            })
          : error,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    app,
    launcher,
    host,
    port: address.port,
    url: `http://${shownHost}:${address.port}/`,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Event streams hold their connections open until the run ends: end them now.
        server.closeAllConnections();
        await closed;
        await launcher.close();
      })();
      return closing;
    },
  };
}
