/**
 * What a model's `ref()` / `source()` / `config()` calls declare, read from the nunjucks parse
 * tree without compiling or rendering the template, as dbt's static parser does: most models
 * call them with literal arguments at the top level, so their upstream and configuration can
 * be known from the tree alone.
 *
 * The reading is exact or it gives up: it returns what a recording render at load would
 * record (the same calls, in the same order), or `undefined` when the render could record
 * something else or fail, and the model is then rendered. It gives up on a `ref()`, `source()`
 * or `config()` call that is not literal or not certain to run exactly once (inside a loop, a
 * branch, a macro), on `env_var()`, on a `var()` that is not set and has no default, on a call
 * to anything but the built-in functions and the project's macros that call none of those
 * (directly, as `dbt.<name>` or through `adapter.dispatch('<name>')`), on
 * a filter or an `in` that can throw, and on any construct it does not know. `{% if
 * is_incremental() %}` is read as the load renders it: false.
 */

/** A node of nunjucks' parse tree (nunjucks/src/nodes.js): its type name and its fields. */
export interface JinjaNode {
  typename: string;
  lineno: number;
  colno: number;
  // biome-ignore lint/suspicious/noExplicitAny: the fields differ by node type
  [field: string]: any;
}

export interface StaticCalls {
  refs: string[];
  sources: [string, string][];
  config: Record<string, unknown>;
}

/** What the names a template calls resolve to, in the project's Jinja environment. */
export interface StaticScope {
  /** A project macro's kind of body: pure (calls nothing that records or can fail), or not. */
  userMacro(name: string): 'pure' | 'impure' | undefined;
  /** A built-in function's parameter names (for `datepart` checks), if it is one. */
  builtin(name: string): readonly string[] | undefined;
  /** Whether a `datepart` argument is one the built-in functions accept. */
  isDatepart(value: string): boolean;
  hasVar(name: string): boolean;
  /** The macro `adapter.dispatch(name)` returns (a project macro's or a built-in's name). */
  dispatch(name: string): string | undefined;
  hasTest(name: string): boolean;
}

/** Filters that cannot throw, whatever value they get (nunjucks' own, checked, and ours). */
const SAFE_FILTERS = new Set([
  'abs',
  'center',
  'd',
  'default',
  'dump',
  'e',
  'escape',
  'float',
  'forceescape',
  'int',
  'length',
  'replace',
  'reverse',
  'round',
  'safe',
  'sort',
  'urlencode',
  'tojson',
  'as_bool',
  'as_number',
]);

/** Globals that are values, not calls: reading them cannot record or fail. */
const PURE_CALLS = new Set(['is_incremental', 'log', 'return']);

/** Adds the names a binding target (a symbol, or a tuple of them) binds. */
function addBound(target: JinjaNode | undefined, out: Set<string>): void {
  if (!target) return;
  if (target.typename === 'Symbol') out.add(String(target.value));
  else for (const child of target.children ?? []) addBound(child, out);
}

/** Nodes that bind a name: a template doing so for a global's name is read by rendering it. */
export function boundNames(node: JinjaNode | undefined, out = new Set<string>()): Set<string> {
  if (!node || typeof node !== 'object') return out;
  switch (node.typename) {
    case 'Set':
      for (const target of node.targets ?? []) addBound(target, out);
      break;
    case 'For':
    case 'AsyncEach':
    case 'AsyncAll':
      addBound(node.name, out);
      break;
    case 'Macro':
    case 'Caller':
      addBound(node.name, out);
      for (const arg of node.args?.children ?? []) {
        if (arg.typename === 'KeywordArgs') for (const pair of arg.children) addBound(pair.key, out);
        else addBound(arg, out);
      }
      break;
    case 'FromImport':
      for (const name of node.names?.children ?? [])
        addBound(name.typename === 'Pair' ? name.value : name, out);
      break;
    case 'Import':
      addBound(node.target, out);
      break;
    case 'TemplateData':
    case 'Literal':
    case 'Symbol':
      return out;
  }
  const fields: string[] | undefined = node.fields;
  if (fields) {
    for (let i = 0; i < fields.length; i++) {
      const value = node[fields[i]!];
      if (Array.isArray(value)) for (const v of value) boundNames(v, out);
      else if (value && typeof value === 'object' && typeof value.typename === 'string')
        boundNames(value, out);
    }
  }
  return out;
}

/** Thrown inside the reading when it gives up; never leaves this module. */
class Dynamic extends Error {}
const NOT_LITERAL = Symbol('not literal');

/** The value of a literal expression (strings, numbers, booleans, none, lists, dicts of them). */
function literal(node: JinjaNode): unknown {
  switch (node.typename) {
    case 'Literal':
      return node.value;
    case 'Neg': {
      const v = literal(node.target);
      return typeof v === 'number' ? -v : NOT_LITERAL;
    }
    case 'Array': {
      const out = node.children.map(literal);
      return out.includes(NOT_LITERAL) ? NOT_LITERAL : out;
    }
    case 'Dict': {
      const out: Record<string, unknown> = {};
      for (const pair of node.children as JinjaNode[]) {
        const key = pair.key;
        if (!(key.typename === 'Symbol' || (key.typename === 'Literal' && typeof key.value === 'string')))
          return NOT_LITERAL;
        const value = literal(pair.value);
        if (value === NOT_LITERAL) return NOT_LITERAL;
        out[String(key.value)] = value;
      }
      return out;
    }
    default:
      return NOT_LITERAL;
  }
}

/** Positional arguments and keyword arguments (nunjucks puts the keywords last). */
function splitArgs(call: JinjaNode): { positional: JinjaNode[]; keywords: JinjaNode[] } {
  const args = (call.args?.children ?? []) as JinjaNode[];
  const last = args[args.length - 1];
  if (last?.typename === 'KeywordArgs') return { positional: args.slice(0, -1), keywords: last.children };
  return { positional: args, keywords: [] };
}

function isIncrementalCall(node: JinjaNode, shadowed: Set<string>, scope: StaticScope): boolean {
  return (
    node.typename === 'FunCall' &&
    node.name.typename === 'Symbol' &&
    node.name.value === 'is_incremental' &&
    !shadowed.has('is_incremental') &&
    scope.userMacro('is_incremental') === undefined
  );
}

/**
 * Reads a template's calls. `live`: the node runs exactly once when the template renders at
 * load; otherwise it runs zero or more times, and may call nothing that records.
 */
class Reader {
  readonly calls: StaticCalls = { refs: [], sources: [], config: {} };

  constructor(
    private readonly scope: StaticScope,
    private readonly shadowed: Set<string>,
  ) {}

  statements(node: JinjaNode, live: boolean): void {
    switch (node.typename) {
      case 'Root':
      case 'NodeList':
      case 'Output':
        for (const child of node.children) this.statements(child, live);
        return;
      case 'TemplateData':
        return;
      case 'If':
      case 'IfAsync': {
        // The load renders with is_incremental() false: only the branch it takes runs.
        if (isIncrementalCall(node.cond, this.shadowed, this.scope)) {
          if (node.else_) this.statements(node.else_, live);
          return;
        }
        if (node.cond.typename === 'Not' && isIncrementalCall(node.cond.target, this.shadowed, this.scope)) {
          this.statements(node.body, live);
          return;
        }
        this.expression(node.cond, live);
        this.statements(node.body, false);
        if (node.else_) this.statements(node.else_, false);
        return;
      }
      case 'For':
        this.expression(node.arr, live);
        this.statements(node.body, false);
        if (node.else_) this.statements(node.else_, false);
        return;
      case 'Set':
        if (node.value) this.expression(node.value, live);
        if (node.body) this.statements(node.body, live);
        return;
      case 'Capture':
        this.statements(node.body, live);
        return;
      case 'Switch':
        this.expression(node.expr, live);
        for (const c of node.cases) {
          this.expression(c.cond, false);
          this.statements(c.body, false);
        }
        if (node.default) this.statements(node.default, false);
        return;
      default:
        // Expressions inside {{ }}; anything else (macros, calls blocks, includes, blocks,
        // extensions) is read by rendering.
        this.expression(node, live);
    }
  }

  expression(node: JinjaNode, live: boolean): void {
    switch (node.typename) {
      case 'Literal':
      case 'Symbol':
        return;
      case 'Group':
      case 'Array':
      case 'Dict':
        for (const child of node.children) this.expression(child, live);
        return;
      case 'Pair':
        if (node.key.typename !== 'Symbol' && node.key.typename !== 'Literal') throw new Dynamic();
        this.expression(node.value, live);
        return;
      case 'LookupVal':
        this.expression(node.target, live);
        this.expression(node.val, live);
        return;
      case 'InlineIf':
        this.expression(node.cond, live);
        this.expression(node.body, false);
        if (node.else_) this.expression(node.else_, false);
        return;
      case 'And':
      case 'Or':
        this.expression(node.left, live);
        this.expression(node.right, false);
        return;
      case 'Add':
      case 'Concat':
      case 'Sub':
      case 'Mul':
      case 'Div':
      case 'FloorDiv':
      case 'Mod':
      case 'Pow':
        this.expression(node.left, live);
        this.expression(node.right, live);
        return;
      case 'Not':
      case 'Neg':
      case 'Pos':
        this.expression(node.target, live);
        return;
      case 'Compare':
        this.expression(node.expr, live);
        for (const op of node.ops) this.expression(op.expr, live);
        return;
      case 'In': {
        // runtime.inOperator throws unless the right side is a string, a list or a dict.
        const right = node.right;
        const ok =
          right.typename === 'Array' ||
          right.typename === 'Dict' ||
          (right.typename === 'Literal' && typeof right.value === 'string');
        if (!ok) throw new Dynamic();
        this.expression(node.left, live);
        this.expression(right, live);
        return;
      }
      case 'Is': {
        const test = node.right.typename === 'FunCall' ? node.right.name : node.right;
        if (test.typename !== 'Symbol' || !this.scope.hasTest(String(test.value))) throw new Dynamic();
        this.expression(node.left, live);
        if (node.right.typename === 'FunCall') this.expression(node.right.args, live);
        return;
      }
      case 'Filter': {
        if (node.name.typename !== 'Symbol' || !SAFE_FILTERS.has(String(node.name.value)))
          throw new Dynamic();
        this.expression(node.args, live);
        return;
      }
      case 'KeywordArgs':
      case 'NodeList':
        for (const child of node.children) this.expression(child, live);
        return;
      case 'FunCall':
        this.call(node, live);
        return;
      default:
        throw new Dynamic();
    }
  }

  private call(node: JinjaNode, live: boolean): void {
    const callee = node.name as JinjaNode;
    let name: string;
    if (callee.typename === 'Symbol') {
      name = String(callee.value);
      if (this.shadowed.has(name)) throw new Dynamic();
    } else if (
      // dbt.<macro>: the project's macro of that name, else the built-in one.
      callee.typename === 'LookupVal' &&
      callee.target.typename === 'Symbol' &&
      callee.target.value === 'dbt' &&
      !this.shadowed.has('dbt') &&
      callee.val.typename === 'Literal'
    ) {
      name = String(callee.val.value);
      if (this.scope.userMacro(name) === undefined && this.scope.builtin(name) === undefined)
        throw new Dynamic();
    } else if (
      // adapter.dispatch('name')(...): the macro it finds for this engine.
      callee.typename === 'FunCall' &&
      callee.name.typename === 'LookupVal' &&
      callee.name.target.typename === 'Symbol' &&
      callee.name.target.value === 'adapter' &&
      !this.shadowed.has('adapter') &&
      callee.name.val.typename === 'Literal' &&
      callee.name.val.value === 'dispatch' &&
      callee.args.children.length === 1 &&
      typeof literal(callee.args.children[0]) === 'string'
    ) {
      const found = this.scope.dispatch(literal(callee.args.children[0]) as string);
      if (found === undefined) throw new Dynamic();
      name = found;
    } else throw new Dynamic();

    const user = this.scope.userMacro(name);
    if (user !== undefined) {
      if (user === 'impure') throw new Dynamic();
      this.expression(node.args, live);
      return;
    }
    const { positional, keywords } = splitArgs(node);
    switch (name) {
      case 'ref': {
        if (!live || keywords.length > 0 || positional.length < 1 || positional.length > 2)
          throw new Dynamic();
        const values = positional.map(literal);
        if (!values.every((v) => typeof v === 'string')) throw new Dynamic();
        this.calls.refs.push(values[values.length - 1] as string);
        return;
      }
      case 'source': {
        if (!live || keywords.length > 0 || positional.length !== 2) throw new Dynamic();
        const [source, table] = positional.map(literal);
        if (typeof source !== 'string' || typeof table !== 'string') throw new Dynamic();
        this.calls.sources.push([source, table]);
        return;
      }
      case 'config': {
        if (!live || positional.length > 1) throw new Dynamic();
        const first = positional[0] ? literal(positional[0]) : {};
        if (first === null || typeof first !== 'object' || Array.isArray(first)) throw new Dynamic();
        const kwargs: Record<string, unknown> = {};
        for (const pair of keywords) {
          const value = literal(pair.value);
          if (value === NOT_LITERAL) throw new Dynamic();
          kwargs[String(pair.key.value)] = value;
        }
        Object.assign(this.calls.config, first, kwargs);
        return;
      }
      case 'var': {
        const key = positional[0] ? literal(positional[0]) : NOT_LITERAL;
        if (typeof key !== 'string' && typeof key !== 'number') throw new Dynamic();
        // An unset var() without a default fails the load: rendering says where.
        if (!this.scope.hasVar(String(key)) && positional.length + keywords.length < 2) throw new Dynamic();
        this.expression(node.args, live);
        return;
      }
    }
    if (PURE_CALLS.has(name)) {
      this.expression(node.args, live);
      return;
    }
    const params = this.scope.builtin(name);
    if (params === undefined) throw new Dynamic();
    // Built-in functions fail only on an unknown datepart: it must be a literal they accept.
    const at = params.indexOf('datepart');
    if (at >= 0) {
      const arg =
        keywords.find((pair) => pair.key.value === 'datepart')?.value ??
        (positional[at] as JinjaNode | undefined);
      const value = arg ? literal(arg) : NOT_LITERAL;
      if (typeof value !== 'string' || !this.scope.isDatepart(value)) throw new Dynamic();
    }
    this.expression(node.args, live);
  }
}

/** The calls a model's template makes when it renders at load, or undefined: render it. */
export function staticCalls(root: JinjaNode, scope: StaticScope): StaticCalls | undefined {
  const reader = new Reader(scope, boundNames(root));
  try {
    reader.statements(root, true);
  } catch (error) {
    if (error instanceof Dynamic) return undefined;
    throw error;
  }
  return reader.calls;
}

/**
 * Whether a macro's body, run any number of times with any arguments, records nothing and
 * cannot fail: `isPure` answers for the macros it calls (cycles count as pure).
 */
export function macroIsPure(macro: JinjaNode, bound: Set<string>, scope: StaticScope): boolean {
  const reader = new Reader(scope, bound);
  try {
    for (const arg of macro.args?.children ?? []) reader.expression(arg, false);
    reader.statements(macro.body, false);
  } catch (error) {
    if (error instanceof Dynamic) return false;
    throw error;
  }
  return true;
}
