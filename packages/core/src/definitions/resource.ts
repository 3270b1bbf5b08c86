import type { z } from 'zod';
import { ConfigError, DefinitionError } from '../errors.ts';
import { REDACTED, registerSecret } from '../util/secrets.ts';
import { assertKnownOptions, assertValidName, formatZodIssues, unknownConfigKeys } from './validation.ts';

/** Where one config field of a resource comes from. */
export interface EnvBinding {
  /** The environment variable to read. */
  env: string;
  /** Secret values are never printed, stored or returned. */
  secret?: boolean;
}

export interface ResourceOptions<S extends z.ZodType, T> {
  name: string;
  description?: string;
  /** A zod object schema for the resource's config. */
  config?: S;
  /** Config fields read from environment variables: `{ url: { env: 'DS_POSTGRES_URL', secret: true } }`. */
  env?: Record<string, string | EnvBinding>;
  /** Builds the client. Called at most once per run, the first time a step needs it. */
  create: (config: z.output<S>, context: ResourceCreateContext) => T | Promise<T>;
  /** Releases the client at the end of the run. */
  dispose?: (value: T) => void | Promise<void>;
}

export interface ResourceCreateContext {
  /** The instance folder (DAG_HOME). */
  home: string;
  /** The run's id. */
  runId: string;
}

/**
 * A resource: a configured client for an outside system. Build with `resource()`.
 *
 * @example
 * const db = resource({
 *   name: 'ds_postgres',
 *   config: z.object({ url: z.string().url() }),
 *   env: { url: { env: 'DS_POSTGRES_URL', secret: true } },
 *   create: ({ url }) => new pg.Pool({ connectionString: url }),
 *   dispose: (pool) => pool.end(),
 * });
 */
export interface ResourceDefinition<T = unknown> {
  readonly kind: 'resource';
  readonly name: string;
  readonly description: string | undefined;
  readonly configSchema: z.ZodType | undefined;
  readonly env: Readonly<Record<string, EnvBinding>>;
  /** Reads env + overrides, validates, registers secrets. Throws ConfigError naming the resource. */
  resolveConfig(overrides?: Record<string, unknown>, env?: NodeJS.ProcessEnv): unknown;
  create(config: unknown, context: ResourceCreateContext): Promise<T>;
  dispose(value: T): Promise<void>;
  /** Config as it may be shown: secrets as `***`, env-bound fields named with their variable. */
  describe(env?: NodeJS.ProcessEnv): ResourceDescription;
  /** Only for type inference of `ctx.resources`. */
  readonly __type?: T;
}

export interface ResourceDescription {
  name: string;
  description: string | undefined;
  config: Record<string, { value: unknown; env?: string; secret: boolean; set: boolean }>;
}

export type ResourceValue<R> = R extends ResourceDefinition<infer T> ? T : never;
export type ResourceValues<M> = { [K in keyof M]: ResourceValue<M[K]> };

const RESOURCE_OPTIONS = {
  name: true,
  description: true,
  config: true,
  env: true,
  create: true,
  dispose: true,
} as const satisfies Record<keyof ResourceOptions<z.ZodType, unknown>, true>;

/**
 * Registers the values of every `secret: true` environment binding of these resources with the
 * redactor. Called when definitions are loaded, in every process that loads them (CLI, run
 * process, daemon, `dag dev`), before any asset or op runs: a secret is redacted even where
 * user code reads `process.env` directly instead of through the resource.
 */
export function registerResourceSecrets(
  resources: Iterable<ResourceDefinition>,
  env: NodeJS.ProcessEnv = process.env,
): void {
  for (const resource of resources) {
    for (const binding of Object.values(resource.env)) {
      if (binding.secret) registerSecret(env[binding.env]);
    }
  }
}

export function resource<S extends z.ZodType, T>(options: ResourceOptions<S, T>): ResourceDefinition<T> {
  assertValidName(options?.name, 'resource');
  assertKnownOptions(options, RESOURCE_OPTIONS, `Resource '${options.name}'`);
  const env: Record<string, EnvBinding> = {};
  for (const [field, binding] of Object.entries(options.env ?? {})) {
    env[field] = typeof binding === 'string' ? { env: binding } : binding;
  }
  if (Object.keys(env).length > 0 && !options.config) {
    throw new DefinitionError(
      `Resource '${options.name}' binds environment variables but has no config schema; add \`config: z.object({...})\`.`,
    );
  }

  const resolveConfig = (
    overrides: Record<string, unknown> = {},
    source: NodeJS.ProcessEnv = process.env,
  ) => {
    if (options.config) {
      const unknown = unknownConfigKeys(options.config, overrides);
      if (unknown.length > 0) {
        throw new ConfigError(
          `Invalid config for resource '${options.name}': ${unknown.map((u) => `unknown field '${u.path}'.${u.suggestion}`).join(' ')} Set it in the run config under resources.${options.name}.config.`,
        );
      }
    }
    const raw: Record<string, unknown> = {};
    for (const [field, binding] of Object.entries(env)) {
      const value = source[binding.env];
      if (value !== undefined && value !== '') raw[field] = value;
    }
    Object.assign(raw, overrides);
    for (const [field, binding] of Object.entries(env)) {
      if (binding.secret && typeof raw[field] === 'string') registerSecret(raw[field]);
    }
    if (!options.config) return raw;
    const parsed = options.config.safeParse(raw);
    if (!parsed.success) {
      const hints = Object.entries(env)
        .map(([field, binding]) => `${field} <- ${binding.env}`)
        .join(', ');
      throw new ConfigError(
        `Invalid config for resource '${options.name}': ${formatZodIssues(parsed.error, (path) => {
          const binding = env[path[0] as string];
          return binding ? ` (set environment variable ${binding.env})` : '';
        })}${hints ? `. Environment bindings: ${hints}` : ''}`,
      );
    }
    return parsed.data;
  };

  return {
    kind: 'resource',
    name: options.name,
    description: options.description,
    configSchema: options.config,
    env,
    resolveConfig,
    async create(config, context) {
      return await options.create(config as z.output<S>, context);
    },
    async dispose(value) {
      await options.dispose?.(value);
    },
    describe(source = process.env) {
      const config: ResourceDescription['config'] = {};
      for (const [field, binding] of Object.entries(env)) {
        const value = source[binding.env];
        const set = value !== undefined && value !== '';
        config[field] = {
          value: binding.secret ? (set ? REDACTED : null) : (value ?? null),
          env: binding.env,
          secret: binding.secret ?? false,
          set,
        };
      }
      return { name: options.name, description: options.description, config };
    },
  };
}
