/**
 * Loader hooks for a `dag` process running compiled code (see util/module-url.ts): user code's
 * `@dag/*` imports resolve through the `dag-dist` export condition, to the modules the command
 * itself runs, so `Definitions`, errors and every other class are the same in both.
 */
interface ResolveContext {
  conditions: string[];
  [key: string]: unknown;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<unknown>;

export async function resolve(
  specifier: string,
  context: ResolveContext,
  next: NextResolve,
): Promise<unknown> {
  return await next(specifier, { ...context, conditions: [...context.conditions, 'dag-dist'] });
}
