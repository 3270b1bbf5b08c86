import nunjucks from 'nunjucks';
import { type Dialect, dialectMacros, isDatepart } from './dialect.ts';
import {
  boundNames,
  type JinjaNode,
  macroIsPure,
  type StaticCalls,
  type StaticScope,
  staticCalls,
} from './static-parse.ts';

/**
 * The Jinja side of a project: one nunjucks environment per project, with dbt's context
 * (`ref`, `source`, `config`, `is_incremental`, `this`, `var`, `env_var`, `adapter.dispatch`,
 * `dbt.*` cross-database macros) and the project's own macros as globals.
 *
 * nunjucks renders synchronously, so every global reads the model being rendered from one
 * "current render" slot: the same compiled macros then serve every model.
 */

/** What one render of a model records and how it resolves names. */
export interface RenderState {
  /** The model's name, for messages. */
  model: string;
  refs: string[];
  sources: [string, string][];
  config: Record<string, unknown>;
  isIncremental: boolean;
  /** The model's own relation, quoted. */
  thisRelation: { schema: string; identifier: string; rendered: string };
  resolveRef(name: string): string;
  resolveSource(source: string, table: string): string;
  /** When set, the names `env_var()` reads are recorded here (loading keys its cache by them). */
  envRead?: string[];
}

/** nunjucks' parser and error helper: public in its index, absent from its type declarations. */
const nunjucksInternals = nunjucks as unknown as {
  parser: { parse(source: string, extensions: unknown, options: unknown): JinjaNode };
  lib: { _prettifyError(path: string, withInternals: boolean, error: unknown): Error };
};

type Kwargs = Record<string, unknown> & { __keywords?: true };

/** dbt's parameter names of the cross-database macros, so keyword calls work too. */
const MACRO_PARAMS: Record<string, string[]> = {
  dateadd: ['datepart', 'interval', 'from_date_or_timestamp'],
  datediff: ['first_date', 'second_date', 'datepart'],
  date_trunc: ['datepart', 'date'],
  last_day: ['date', 'datepart'],
  cast: ['field', 'type'],
  safe_cast: ['field', 'type'],
  safe_divide: ['numerator', 'denominator'],
  concat: ['fields'],
  length: ['expression'],
  position: ['substring_text', 'string_text'],
  replace: ['field', 'old_chars', 'new_chars'],
  split_part: ['string_text', 'delimiter_text', 'part_number'],
  right: ['string_text', 'length_expression'],
  hash: ['field'],
  string_literal: ['value'],
  json_extract_scalar: ['json', 'path'],
  bool_or: ['expression'],
  any_value: ['expression'],
};

function splitKwargs(args: unknown[]): { positional: unknown[]; kwargs: Kwargs } {
  const last = args[args.length - 1] as Kwargs | undefined;
  if (last && typeof last === 'object' && last.__keywords) {
    const { __keywords, ...rest } = last;
    return { positional: args.slice(0, -1), kwargs: rest };
  }
  return { positional: args, kwargs: {} };
}

function withParams(fn: (...args: unknown[]) => string, params: string[]) {
  return (...args: unknown[]) => {
    const { positional, kwargs } = splitKwargs(args);
    const full = [...positional];
    params.forEach((p, i) => {
      if (p in kwargs) full[i] = kwargs[p];
    });
    return new nunjucks.runtime.SafeString(fn(...full));
  };
}

/** Thrown by the recording functions: an error in the model itself, not in Jinja. */
export class ModelRenderError extends Error {
  override name = 'ModelRenderError';
}

export interface JinjaOptions {
  dialect: Dialect;
  vars: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  targetName: string;
}

export class ProjectJinja {
  readonly env: nunjucks.Environment;
  private current: RenderState | undefined;
  private readonly userMacros = new Map<string, unknown>();
  /** The macro files' text, parsed when a model's calls are first read from its parse tree. */
  private readonly macroFiles: { source: string; file: string }[] = [];
  private scope: StaticScope | undefined;
  private readonly builtins: Record<string, unknown> = {};

  constructor(readonly options: JinjaOptions) {
    this.env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
    const state = () => {
      if (!this.current)
        throw new ModelRenderError('ref(), source() and config() can only run inside a model.');
      return this.current;
    };
    const env = this.env;
    const g = (name: string, value: unknown) => env.addGlobal(name, value);

    g('ref', (...args: unknown[]) => {
      const { positional } = splitKwargs(args);
      // ref('model') or ref('package', 'model'): the model is the last argument.
      const name = String(positional[positional.length - 1]);
      const st = state();
      st.refs.push(name);
      return st.resolveRef(name);
    });
    g('source', (source: unknown, table: unknown) => {
      const st = state();
      st.sources.push([String(source), String(table)]);
      return st.resolveSource(String(source), String(table));
    });
    g('config', (...args: unknown[]) => {
      const { kwargs, positional } = splitKwargs(args);
      Object.assign(
        state().config,
        positional[0] && typeof positional[0] === 'object' ? positional[0] : {},
        kwargs,
      );
      return '';
    });
    g('is_incremental', () => state().isIncremental);
    // `this`: one object whose text is the model being rendered, also inside macros.
    const self = {
      toString: () => state().thisRelation.rendered,
      get schema() {
        return state().thisRelation.schema;
      },
      get identifier() {
        return state().thisRelation.identifier;
      },
      get name() {
        return state().thisRelation.identifier;
      },
    };
    g('this', self);
    g('var', (name: unknown, ...rest: unknown[]) => {
      const key = String(name);
      if (key in options.vars) return options.vars[key];
      if (rest.length > 0) return rest[0];
      throw new ModelRenderError(
        `var('${key}') is not set and has no default: set it under 'vars:' in dbt_project.yml, or give a default: var('${key}', <default>).`,
      );
    });
    g('env_var', (name: unknown, ...rest: unknown[]) => {
      const key = String(name);
      this.current?.envRead?.push(key);
      const value = options.env[key];
      if (value !== undefined) return value;
      if (rest.length > 0) return rest[0];
      throw new ModelRenderError(
        `env_var('${key}') is not set and has no default: set the environment variable ${key}, or give a default: env_var('${key}', '<default>').`,
      );
    });
    g('target', { name: options.targetName, type: options.dialect, schema: 'main' });
    g('log', () => '');
    g('return', (value: unknown) => value);
    g('exceptions', {
      raise_compiler_error: (message: unknown) => {
        throw new ModelRenderError(String(message));
      },
    });
    g('modules', { datetime: { datetime: Date } });
    g('run_started_at', new Date().toISOString());
    g('execute', true);

    const builtins = this.builtins;
    for (const [name, fn] of Object.entries(dialectMacros(options.dialect))) {
      builtins[name] = withParams(fn, MACRO_PARAMS[name] ?? []);
    }
    // Project macros of the same name win over the built-in ones, as in dbt.
    const lookup = (name: string) => this.userMacros.get(name) ?? builtins[name];
    g('dbt', new Proxy({}, { get: (_t, name) => (typeof name === 'string' ? lookup(name) : undefined) }));
    g('adapter', {
      dispatch: (name: unknown) => {
        const macro = String(name);
        const found = this.dispatchName(macro);
        const fn = found === undefined ? undefined : (this.userMacros.get(found) ?? builtins[found]);
        if (!fn) {
          throw new ModelRenderError(
            `adapter.dispatch('${macro}'): no macro '${options.dialect}__${macro}' or 'default__${macro}' in the project's macros, and no built-in '${macro}'.`,
          );
        }
        return fn;
      },
    });
    for (const [name, fn] of Object.entries(builtins)) g(name, fn);
    this.env.addFilter('tojson', (value: unknown) => JSON.stringify(value));
    this.env.addFilter('as_bool', (value: unknown) => value === true || value === 'true' || value === 'True');
    this.env.addFilter('as_number', (value: unknown) => Number(value));
  }

  /** The macro `adapter.dispatch(name)` finds: `<engine>__name`, `default__name`, `name`, a built-in. */
  private dispatchName(macro: string): string | undefined {
    return (
      [`${this.options.dialect}__${macro}`, `default__${macro}`, macro].find((n) => this.userMacros.has(n)) ??
      (macro in this.builtins ? macro : undefined)
    );
  }

  /** Compiles a template; a syntax error throws with its line. */
  compile(source: string, file: string): nunjucks.Template {
    return new nunjucks.Template(source, this.env, file, true);
  }

  /** Loads a macro file: its macros become globals of every model. */
  addMacros(source: string, file: string): string[] {
    const template = this.compile(source, file);
    this.macroFiles.push({ source, file });
    this.scope = undefined;
    let exported: Record<string, unknown> = {};
    // getExported is nunjucks' API for `{% import %}`; its type declarations omit it.
    (
      template as unknown as {
        getExported(ctx: object, frame: null, cb: (error: Error | null, result: unknown) => void): void;
      }
    ).getExported({}, null, (error, result) => {
      if (error) throw error;
      exported = result as Record<string, unknown>;
    });
    const names = Object.keys(exported).filter((k) => typeof exported[k] === 'function');
    for (const name of names) {
      this.userMacros.set(name, exported[name]);
      this.env.addGlobal(name, exported[name]);
    }
    return names;
  }

  /** A template's parse tree; a syntax error throws as compiling would (with its line). */
  parse(source: string, file: string): JinjaNode {
    try {
      const env = this.env as unknown as { extensionsList: unknown; opts: unknown };
      return nunjucksInternals.parser.parse(source, env.extensionsList, env.opts);
    } catch (error) {
      throw nunjucksInternals.lib._prettifyError(file, false, error);
    }
  }

  /**
   * What rendering `source` at load would record, read from its parse tree without rendering
   * (see static-parse.ts), or undefined when only rendering can tell.
   */
  staticCalls(source: string, file: string): StaticCalls | undefined {
    return staticCalls(this.parse(source, file), this.staticScope());
  }

  /** How names resolve for static-parse.ts, with the purity of each project macro. */
  private staticScope(): StaticScope {
    if (this.scope) return this.scope;
    const macros = new Map<string, { node: JinjaNode; bound: Set<string> }>();
    for (const { source, file } of this.macroFiles) {
      const root = this.parse(source, file);
      const defined = (root.children as JinjaNode[]).filter((node) => node.typename === 'Macro');
      // The file's own macros are the globals their calls reach; any other name it binds is local.
      const bound = boundNames(root);
      for (const node of defined) bound.delete(String(node.name.value));
      for (const node of defined) macros.set(String(node.name.value), { node, bound });
    }
    const purity = new Map<string, 'pure' | 'impure' | 'visiting'>();
    const scope: StaticScope = {
      userMacro: (name) => {
        if (!this.userMacros.has(name)) return undefined;
        const known = purity.get(name);
        if (known) return known === 'impure' ? 'impure' : 'pure';
        const macro = macros.get(name);
        if (!macro) return 'impure';
        purity.set(name, 'visiting');
        const pure = macroIsPure(macro.node, macro.bound, scope);
        purity.set(name, pure ? 'pure' : 'impure');
        return pure ? 'pure' : 'impure';
      },
      builtin: (name) => (name in this.builtins ? (MACRO_PARAMS[name] ?? []) : undefined),
      isDatepart,
      hasVar: (name) => name in this.options.vars,
      dispatch: (name) => this.dispatchName(name),
      hasTest: (name) => name in (this.env as unknown as { tests: Record<string, unknown> }).tests,
    };
    this.scope = scope;
    return scope;
  }

  /** Renders a model with `state` as the current model. */
  render(template: nunjucks.Template, state: RenderState): string {
    const previous = this.current;
    this.current = state;
    try {
      return template.render({});
    } finally {
      this.current = previous;
    }
  }
}
