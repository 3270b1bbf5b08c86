/**
 * Every error the orchestrator raises on purpose is a `DagError`: it has a stable `name`,
 * a message that says what went wrong and how to fix it, and the original error as `cause`.
 * `kind` lets the CLI map errors to exit codes without string matching.
 */
export type DagErrorKind = 'definition' | 'selection' | 'config' | 'instance' | 'user-code' | 'usage';

export class DagError extends Error {
  readonly kind: DagErrorKind;
  constructor(kind: DagErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = 'DagError';
  }
}

/** A definition is invalid: duplicate key, unknown dep, cycle, bad name, a definitions file that throws. */
export class DefinitionError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('definition', message, options);
    this.name = 'DefinitionError';
  }
}

/** A selection string does not parse, or names an asset that does not exist. */
export class SelectionError extends DagError {
  readonly position: number | undefined;
  constructor(message: string, options?: { cause?: unknown; position?: number }) {
    super('selection', message, options);
    this.name = 'SelectionError';
    this.position = options?.position;
  }
}

/** Run config or resource config failed validation. */
export class ConfigError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('config', message, options);
    this.name = 'ConfigError';
  }
}

/** The instance (PostgreSQL) could not be reached, started or migrated. */
export class InstanceError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('instance', message, options);
    this.name = 'InstanceError';
  }
}

/** Wrong use of an API or a command: unknown job, unknown run, bad flag value. */
export class UsageError extends DagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
    this.name = 'UsageError';
  }
}

/**
 * User code (an asset, op, check or resource) threw. The message names the asset or op,
 * the step and the run; the user's error is the `cause`.
 */
export class UserCodeError extends DagError {
  readonly stepKey: string;
  readonly runId: string;
  constructor(message: string, options: { cause: unknown; stepKey: string; runId: string }) {
    super('user-code', message, { cause: options.cause });
    this.name = 'UserCodeError';
    this.stepKey = options.stepKey;
    this.runId = options.runId;
  }
}

/**
 * Throw from an asset or op to fail the step at once, without using the remaining retries
 * (a bad input that no retry can fix).
 */
export class NonRetriableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetriableError';
  }
}

/** Throw from an asset or op to retry after a given delay, whatever the retry policy's backoff says. */
export class RetryAfterError extends Error {
  readonly delayMs: number;
  constructor(message: string, delayMs: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryAfterError';
    this.delayMs = delayMs;
  }
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  cause?: SerializedError;
}

/** A JSON-safe form of any thrown value, following the `cause` chain (bounded, cycles cut). */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (error instanceof Error) {
    const out: SerializedError = { name: error.name, message: error.message };
    if (error.stack) out.stack = error.stack;
    if (error.cause !== undefined && depth < 5) out.cause = serializeError(error.cause, depth + 1);
    return out;
  }
  return { name: 'NonError', message: typeof error === 'string' ? error : safeStringify(error) };
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** One readable line per link of the cause chain: "msg\n  caused by: Name: msg". */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 6; depth++) {
    if (current instanceof Error) {
      parts.push(depth === 0 ? current.message : `caused by: ${current.name}: ${current.message}`);
      current = current.cause;
    } else {
      parts.push(depth === 0 ? String(current) : `caused by: ${String(current)}`);
      current = undefined;
    }
  }
  return parts.join('\n  ');
}
