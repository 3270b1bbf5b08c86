import type { z } from 'zod';
import { DefinitionError } from '../errors.ts';
import type { RetryPolicy, StepContext } from '../types.ts';
import type { ResourceDefinition, ResourceValues } from './resource.ts';
import { assertKnownOptions, assertValidName } from './validation.ts';

/** The output of an op invocation inside a graph's compose function: a node to wire into others. */
export interface OpOutput {
  readonly __opOutput: true;
  readonly nodeKey: string;
}

export interface OpOptions<S extends z.ZodType | undefined, R extends Record<string, ResourceDefinition>> {
  name: string;
  description?: string;
  config?: S;
  resources?: R;
  retry?: RetryPolicy;
  tags?: Record<string, string>;
  /** A concurrency pool: at most its limit of steps naming it run at once (see asset's `pool`). */
  pool?: string;
}

const OP_OPTIONS = {
  name: true,
  description: true,
  config: true,
  resources: true,
  retry: true,
  tags: true,
  pool: true,
} as const satisfies Record<keyof OpOptions<undefined, Record<string, never>>, true>;

type ConfigOf<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface OpDefinition {
  (...inputs: OpOutput[]): OpOutput;
  readonly kind: 'op';
  readonly opName: string;
  readonly description: string | undefined;
  readonly configSchema: z.ZodType | undefined;
  readonly resources: Readonly<Record<string, ResourceDefinition>>;
  readonly retry: RetryPolicy | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly pool: string | undefined;
  readonly fn: (ctx: StepContext<unknown, Record<string, unknown>>, ...inputs: unknown[]) => unknown;
}

export interface GraphNode {
  /** Unique within the graph: the op name, or `name_2`, `name_3` for repeated invocations. */
  readonly key: string;
  readonly op: OpDefinition;
  /** Keys of the nodes whose outputs are this node's positional inputs. */
  readonly inputs: readonly string[];
}

interface Composition {
  jobName: string;
  nodes: GraphNode[];
}

let composing: Composition | undefined;

/**
 * Defines an op: a plain step. Inside `graphJob`'s compose function, calling it wires it up;
 * its positional arguments are upstream ops' outputs.
 *
 * @example
 * const extract = op({ name: 'extract' }, async () => [1, 2, 3]);
 * const double = op({ name: 'double' }, async (_ctx, rows: number[]) => rows.map((r) => r * 2));
 * export const etl = graphJob({ name: 'etl' }, () => double(extract()));
 */
export function op<
  S extends z.ZodType | undefined = undefined,
  R extends Record<string, ResourceDefinition> = Record<string, never>,
>(
  options: OpOptions<S, R>,
  // biome-ignore lint/suspicious/noExplicitAny: op inputs are positional values of upstream ops, typed by the user.
  fn: (ctx: StepContext<ConfigOf<S>, ResourceValues<R>>, ...inputs: any[]) => unknown,
): OpDefinition {
  assertValidName(options?.name, 'op');
  assertKnownOptions(options, OP_OPTIONS, `Op '${options.name}'`);
  if (options.pool !== undefined) assertValidName(options.pool, `pool of op '${options.name}'`);
  const invoke = (...inputs: OpOutput[]): OpOutput => {
    if (!composing) {
      throw new DefinitionError(
        `Op '${options.name}' was called outside a graph. Call ops only inside graphJob({ name }, () => ...) to wire them; the orchestrator runs them.`,
      );
    }
    for (const [i, input] of inputs.entries()) {
      if (input?.__opOutput !== true) {
        throw new DefinitionError(
          `Graph job '${composing.jobName}': argument ${i + 1} of op '${options.name}' is not the output of another op.`,
        );
      }
    }
    const taken = new Set(composing.nodes.map((n) => n.key));
    let key = options.name;
    for (let n = 2; taken.has(key); n++) key = `${options.name}_${n}`;
    composing.nodes.push({ key, op: definition, inputs: inputs.map((i) => i.nodeKey) });
    return { __opOutput: true, nodeKey: key };
  };
  const definition: OpDefinition = Object.assign(invoke, {
    kind: 'op' as const,
    opName: options.name,
    description: options.description,
    configSchema: options.config,
    resources: { ...(options.resources ?? {}) },
    retry: options.retry,
    tags: { ...(options.tags ?? {}) },
    pool: options.pool,
    fn: fn as OpDefinition['fn'],
  });
  return definition;
}

/** Runs a compose function and records the op graph it builds. */
export function composeGraph(jobName: string, compose: () => unknown): GraphNode[] {
  if (composing)
    throw new DefinitionError(`Graph job '${jobName}' is defined inside another graph's compose function.`);
  composing = { jobName, nodes: [] };
  try {
    compose();
    if (composing.nodes.length === 0) {
      throw new DefinitionError(
        `Graph job '${jobName}' has no ops: its compose function must call at least one op.`,
      );
    }
    return composing.nodes;
  } finally {
    composing = undefined;
  }
}
