import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../errors.ts';
import { FileIOManager } from '../io/io-manager.ts';
import { maskConnectionString, redact, registerSecretsFromEnv } from '../util/secrets.ts';
import {
  currentEmbeddedUrl,
  ensureEmbeddedPostgres,
  folderError,
  stopEmbeddedPostgres,
} from './embedded-postgres.ts';
import { isConnectionError, PostgresStorage } from './postgres-storage.ts';
import type { InstanceStorage } from './storage.ts';

export interface InstanceOptions {
  /** The instance folder. Default: DAG_HOME, else `.dag` in the working directory. */
  home?: string;
  /** An external PostgreSQL. Default: DAG_POSTGRES_URL, else the embedded server. */
  postgresUrl?: string;
  /** Apply pending migrations on open. Default true. */
  migrate?: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * For long-running processes (`dag dev`, `dag daemon`): check the database every
   * `intervalMs` (default 2 s) and, when the embedded server is down, start it again (on its
   * port; connections follow it if it had to move). Default off.
   */
  supervise?: boolean | { intervalMs?: number; log?: (message: string) => void };
}

export interface InstanceInfo {
  home: string;
  storage: 'embedded-postgres' | 'postgres';
  /** The database URL with its password masked. */
  url: string;
  schemaVersion: number;
  postgresVersion: string;
  runs: number;
  events: number;
  assets: number;
  databaseSize: string;
}

export function resolveHome(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return path.resolve(cwd, env.DAG_HOME && env.DAG_HOME.trim() !== '' ? env.DAG_HOME : '.dag');
}

/**
 * An instance: the storage of runs and events (PostgreSQL) and the instance folder
 * (IO manager files, the embedded server). Open with `DagInstance.open()`; close when done.
 */
export class DagInstance {
  readonly home: string;
  readonly storage: InstanceStorage;
  readonly kind: 'embedded-postgres' | 'postgres';
  private currentUrl: string;
  readonly ioManager: FileIOManager;
  private supervisor: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  private constructor(home: string, storage: InstanceStorage, kind: DagInstance['kind'], url: string) {
    this.home = home;
    this.storage = storage;
    this.kind = kind;
    this.currentUrl = url;
    this.ioManager = new FileIOManager(path.join(home, 'storage'));
  }

  /** The database URL (of an embedded server: where it is now). */
  get url(): string {
    return this.currentUrl;
  }

  private supervise(options: { intervalMs?: number; log?: (message: string) => void }): void {
    const log = options.log ?? ((message: string) => process.stderr.write(`${redact(message)}\n`));
    this.supervisor = setInterval(() => {
      this.checking ??= this.checkDatabase(log).finally(() => {
        this.checking = undefined;
      });
    }, options.intervalMs ?? 2000);
    this.supervisor.unref();
  }

  /** One supervision check: restarts the embedded server if it does not answer. */
  async checkDatabase(log: (message: string) => void = () => {}): Promise<void> {
    try {
      await (this.storage as PostgresStorage).pool.query('SELECT 1');
      return;
    } catch (error) {
      if (!isConnectionError(error) || this.kind !== 'embedded-postgres') return;
      log(
        `dag: the embedded PostgreSQL of ${this.home} does not answer (${describeError(error)}); starting it again.`,
      );
    }
    try {
      const server = await ensureEmbeddedPostgres(this.home);
      this.currentUrl = server.url;
      log(`dag: the embedded PostgreSQL of ${this.home} is back on port ${server.port}.`);
    } catch (error) {
      log(`dag: could not start the embedded PostgreSQL again (retrying): ${describeError(error)}`);
    }
  }

  static async open(options: InstanceOptions = {}): Promise<DagInstance> {
    const env = options.env ?? process.env;
    registerSecretsFromEnv(env);
    const home = path.resolve(options.home ?? resolveHome(env));
    try {
      await mkdir(home, { recursive: true });
    } catch (error) {
      throw folderError(home, error, 'create it');
    }
    const external = options.postgresUrl ?? (env.DAG_POSTGRES_URL?.trim() || undefined);
    let storage: PostgresStorage;
    let kind: DagInstance['kind'];
    let url: string;
    if (external) {
      storage = await PostgresStorage.connect(external, {
        source: options.postgresUrl ? 'postgresUrl' : 'DAG_POSTGRES_URL',
      });
      kind = 'postgres';
      url = external;
    } else {
      const server = await ensureEmbeddedPostgres(home);
      storage = await PostgresStorage.connect(server.url, {
        source: `embedded server in ${home}`,
        currentUrl: () => currentEmbeddedUrl(home),
      });
      kind = 'embedded-postgres';
      url = server.url;
    }
    if (options.migrate ?? true) {
      try {
        await storage.migrate();
      } catch (error) {
        await storage.close();
        throw error;
      }
    }
    const instance = new DagInstance(home, storage, kind, url);
    if (options.supervise) instance.supervise(options.supervise === true ? {} : options.supervise);
    return instance;
  }

  async info(): Promise<InstanceInfo> {
    const stats = await this.storage.stats();
    const pool = (this.storage as PostgresStorage).pool;
    const { rows } = await pool.query<{ v: string }>('SELECT current_setting($1) AS v', ['server_version']);
    return {
      home: this.home,
      storage: this.kind,
      url: maskConnectionString(this.url),
      schemaVersion: await this.storage.schemaVersion(),
      postgresVersion: rows[0]?.v ?? 'unknown',
      ...stats,
    };
  }

  async close(): Promise<void> {
    clearInterval(this.supervisor);
    await this.checking;
    await this.storage.close();
  }

  /** Stops the embedded server of an instance folder (no-op for an external database). */
  static async stopEmbedded(home: string = resolveHome()): Promise<boolean> {
    return await stopEmbeddedPostgres(home);
  }
}
