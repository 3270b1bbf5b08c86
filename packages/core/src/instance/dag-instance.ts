import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { FileIOManager } from '../io/io-manager.ts';
import { maskConnectionString, registerSecretsFromEnv } from '../util/secrets.ts';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from './embedded-postgres.ts';
import { PostgresStorage } from './postgres-storage.ts';
import type { InstanceStorage } from './storage.ts';

export interface InstanceOptions {
  /** The instance folder. Default: DAG_HOME, else `.dag` in the working directory. */
  home?: string;
  /** An external PostgreSQL. Default: DAG_POSTGRES_URL, else the embedded server. */
  postgresUrl?: string;
  /** Apply pending migrations on open. Default true. */
  migrate?: boolean;
  env?: NodeJS.ProcessEnv;
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
  readonly url: string;
  readonly ioManager: FileIOManager;

  private constructor(home: string, storage: InstanceStorage, kind: DagInstance['kind'], url: string) {
    this.home = home;
    this.storage = storage;
    this.kind = kind;
    this.url = url;
    this.ioManager = new FileIOManager(path.join(home, 'storage'));
  }

  static async open(options: InstanceOptions = {}): Promise<DagInstance> {
    const env = options.env ?? process.env;
    registerSecretsFromEnv(env);
    const home = path.resolve(options.home ?? resolveHome(env));
    await mkdir(home, { recursive: true });
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
      storage = await PostgresStorage.connect(server.url, { source: `embedded server in ${home}` });
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
    return new DagInstance(home, storage, kind, url);
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
    await this.storage.close();
  }

  /** Stops the embedded server of an instance folder (no-op for an external database). */
  static async stopEmbedded(home: string = resolveHome()): Promise<boolean> {
    return await stopEmbeddedPostgres(home);
  }
}
