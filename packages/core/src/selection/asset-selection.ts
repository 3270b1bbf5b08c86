import { SelectionError } from '../errors.ts';
import type { AssetGraph } from '../graph/asset-graph.ts';
import { didYouMean } from '../util/suggest.ts';

/**
 * The asset selection syntax (Dagster's):
 *
 *   key                  an asset key; `*` wildcards allowed (`ds_*`); also `key:name`
 *   *                    every asset
 *   group:DS             by group        tag:tier=bronze / tag:tier   by tag
 *   kind:s3              by kind         owner:team@x                 by owner
 *   +x   2+x             x and its upstream (all levels, or 2)
 *   x+   x+1             x and its downstream
 *   *x   x*   *x*        Dagster's traversal: x and all its upstream / downstream / both,
 *                        when x is an asset key (otherwise a wildcard, as above)
 *   a and b, a or b, not a, (a or b) and not c     ("," is accepted for "or")
 *   stale()              assets that are stale (code version, upstream data, config or deps
 *                        changed since their latest materialization); needs the instance
 */
export type SelectionNode =
  | { type: 'all' }
  | {
      type: 'attr';
      attr: 'key' | 'group' | 'tag' | 'kind' | 'owner';
      value: string;
      position: number;
      /** A key written without `key:`, where Dagster's `*x` / `x*` traversal applies. */
      bare?: boolean;
    }
  | { type: 'and' | 'or'; left: SelectionNode; right: SelectionNode }
  | { type: 'not'; operand: SelectionNode }
  | { type: 'traverse'; operand: SelectionNode; up: number; down: number }
  | { type: 'function'; name: SelectionFunction; position: number };

/** Selection functions: sets of assets that depend on the instance's state. */
export const SELECTION_FUNCTIONS = ['stale'] as const;
export type SelectionFunction = (typeof SELECTION_FUNCTIONS)[number];

/** What selection functions resolve to; computed from the instance by the caller. */
export type SelectionContext = Partial<Record<SelectionFunction, ReadonlySet<string>>>;

const ATTRS = ['key', 'group', 'tag', 'kind', 'owner'] as const;

type Token =
  | { t: 'lparen' | 'rparen' | 'plus' | 'comma' | 'eof'; pos: number }
  | { t: 'word'; value: string; pos: number; quoted: boolean }
  | { t: 'number'; value: number; pos: number };

const WORD_CHAR = /[A-Za-z0-9_\-./*@=]/;

function fail(source: string, pos: number, message: string): never {
  const caret = `${' '.repeat(pos)}^`;
  throw new SelectionError(
    `Invalid selection at position ${pos}: ${message}\n  ${source}\n  ${caret}\nSyntax: key, *, group:G, tag:k=v, kind:K, +key or *key (upstream), key+ or key* (downstream), and / or / not, parentheses.`,
    { position: pos },
  );
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(') {
      tokens.push({ t: 'lparen', pos: i++ });
    } else if (c === ')') {
      tokens.push({ t: 'rparen', pos: i++ });
    } else if (c === '+') {
      tokens.push({ t: 'plus', pos: i++ });
    } else if (c === ',') {
      tokens.push({ t: 'comma', pos: i++ });
    } else if (c === '"' || c === "'") {
      const end = source.indexOf(c, i + 1);
      if (end < 0) fail(source, i, `unterminated quoted string`);
      tokens.push({ t: 'word', value: source.slice(i + 1, end), pos: i, quoted: true });
      i = end + 1;
    } else if (c === ':') {
      tokens.push({ t: 'word', value: ':', pos: i++, quoted: false });
    } else if (WORD_CHAR.test(c)) {
      const start = i;
      while (i < source.length && WORD_CHAR.test(source[i]!)) i++;
      const value = source.slice(start, i);
      if (/^\d+$/.test(value) && source[i] === '+')
        tokens.push({ t: 'number', value: Number(value), pos: start });
      else tokens.push({ t: 'word', value, pos: start, quoted: false });
    } else {
      fail(source, i, `unexpected character '${c}'`);
    }
  }
  tokens.push({ t: 'eof', pos: source.length });
  return tokens;
}

/**
 * Deepest selection accepted: parentheses, `not`s and chained `and`/`or`s each add a level.
 * The parser and the resolver recurse once per level, so an unbounded depth (5,000 `(`, or a
 * chain of 100,000 `or`s) would overflow the stack; 1,000 is far beyond any real selection.
 */
export const MAX_SELECTION_DEPTH = 1000;

export function parseSelection(source: string): SelectionNode {
  if (typeof source !== 'string' || source.trim() === '') {
    throw new SelectionError(`Empty selection: give an asset key, '*', group:G, tag:k=v or an expression.`);
  }
  const tokens = tokenize(source);
  let p = 0;
  const peek = () => tokens[p]!;
  const isKeyword = (tok: Token, kw: string) =>
    tok.t === 'word' && !tok.quoted && tok.value.toLowerCase() === kw;
  const depths = new WeakMap<SelectionNode, number>();
  /** Records the depth of a node built on `children`; fails past MAX_SELECTION_DEPTH. */
  const built = <N extends SelectionNode>(node: N, pos: number, ...children: SelectionNode[]): N => {
    const depth = 1 + Math.max(0, ...children.map((c) => depths.get(c) ?? 1));
    if (depth > MAX_SELECTION_DEPTH) tooDeep(pos);
    depths.set(node, depth);
    return node;
  };
  let nesting = 0;
  const tooDeep = (pos: number): never =>
    fail(
      source,
      pos,
      `the selection nests deeper than ${MAX_SELECTION_DEPTH} levels (parentheses, 'not', chained 'and'/'or'); split it into simpler selections`,
    );

  const parseOr = (): SelectionNode => {
    let left = parseAnd();
    for (;;) {
      const tok = peek();
      if (tok.t === 'comma' || isKeyword(tok, 'or')) {
        p++;
        const right = parseAnd();
        left = built({ type: 'or', left, right }, tok.pos, left, right);
      } else return left;
    }
  };
  const parseAnd = (): SelectionNode => {
    let left = parseNot();
    for (;;) {
      const tok = peek();
      if (isKeyword(tok, 'and')) {
        p++;
        const right = parseNot();
        left = built({ type: 'and', left, right }, tok.pos, left, right);
      } else return left;
    }
  };
  const parseNot = (): SelectionNode => {
    const tok = peek();
    if (isKeyword(tok, 'not')) {
      p++;
      if (++nesting > MAX_SELECTION_DEPTH) tooDeep(tok.pos);
      const operand = parseNot();
      nesting--;
      return built({ type: 'not', operand }, tok.pos, operand);
    }
    return parseTraversal();
  };
  const parseTraversal = (): SelectionNode => {
    let up = 0;
    const tok = peek();
    if (tok.t === 'number') {
      up = tok.value;
      p++;
      p++; // the '+' that the tokenizer saw after the number
    } else if (tok.t === 'plus') {
      up = Number.POSITIVE_INFINITY;
      p++;
    }
    const operand = parsePrimary();
    let down = 0;
    if (peek().t === 'plus') {
      p++;
      const after = peek();
      if (after.t === 'word' && !after.quoted && /^\d+$/.test(after.value)) {
        down = Number(after.value);
        p++;
      } else down = Number.POSITIVE_INFINITY;
    }
    return up === 0 && down === 0
      ? operand
      : built({ type: 'traverse', operand, up, down }, tok.pos, operand);
  };
  const parsePrimary = (): SelectionNode => {
    const tok = peek();
    if (tok.t === 'lparen') {
      p++;
      if (++nesting > MAX_SELECTION_DEPTH) tooDeep(tok.pos);
      const inner = parseOr();
      nesting--;
      const close = peek();
      if (close.t !== 'rparen')
        fail(source, close.pos, `expected ')' to close the '(' at position ${tok.pos}`);
      p++;
      return inner;
    }
    if (tok.t !== 'word' || tok.value === ':' || isKeyword(tok, 'and') || isKeyword(tok, 'or')) {
      const what =
        tok.t === 'eof' ? 'end of input' : `'${source.slice(tok.pos, tok.pos + 10).split(/\s/)[0]}'`;
      fail(
        source,
        tok.pos,
        `expected an asset key, '*', group:, tag:, kind:, owner: or '(' but found ${what}`,
      );
    }
    p++;
    if (peek().t === 'word' && (peek() as { value: string }).value === ':' && !tok.quoted) {
      const attr = tok.value.toLowerCase();
      if (!(ATTRS as readonly string[]).includes(attr)) {
        fail(
          source,
          tok.pos,
          `unknown attribute '${tok.value}:'; supported: ${ATTRS.map((a) => `${a}:`).join(', ')}`,
        );
      }
      p++;
      const value = peek();
      if (value.t !== 'word' || value.value === ':')
        fail(source, value.pos, `expected a value after '${tok.value}:'`);
      p++;
      return { type: 'attr', attr: attr as (typeof ATTRS)[number], value: value.value, position: value.pos };
    }
    if (!tok.quoted && peek().t === 'lparen') {
      const name = tok.value.toLowerCase();
      if (!(SELECTION_FUNCTIONS as readonly string[]).includes(name)) {
        fail(
          source,
          tok.pos,
          `unknown function '${tok.value}()'; supported: ${SELECTION_FUNCTIONS.map((f) => `${f}()`).join(', ')}`,
        );
      }
      p++;
      if (peek().t !== 'rparen') fail(source, peek().pos, `expected ')': ${name}() takes no arguments`);
      p++;
      return { type: 'function', name: name as SelectionFunction, position: tok.pos };
    }
    if (tok.value === '*' && !tok.quoted) return { type: 'all' };
    return { type: 'attr', attr: 'key', value: tok.value, position: tok.pos, bare: !tok.quoted };
  };

  const node = parseOr();
  const rest = peek();
  if (rest.t !== 'eof')
    fail(source, rest.pos, `unexpected '${source.slice(rest.pos).split(/\s/)[0]}' (missing 'and' / 'or'?)`);
  return node;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/**
 * Dagster's `*x` (x and all upstream), `x*` (all downstream) and `*x*`: a bare word whose
 * asterisks are only at its ends and whose middle is an asset key. Any other `*` is a wildcard.
 */
function starTraversal(
  graph: AssetGraph,
  n: Extract<SelectionNode, { type: 'attr' }>,
): Extract<SelectionNode, { type: 'traverse' }> | undefined {
  if (n.attr !== 'key' || !n.bare) return undefined;
  const m = /^(\*?)([^*]+)(\*?)$/.exec(n.value);
  if (!m || (!m[1] && !m[3]) || !graph.has(m[2]!)) return undefined;
  return {
    type: 'traverse',
    operand: { type: 'attr', attr: 'key', value: m[2]!, position: n.position + m[1]!.length },
    up: m[1] ? Number.POSITIVE_INFINITY : 0,
    down: m[3] ? Number.POSITIVE_INFINITY : 0,
  };
}

/**
 * Resolves a selection to asset keys, in topological order. A plain key (no wildcard) that
 * names no asset is an error with a suggestion; a wildcard that matches nothing resolves to
 * no keys here (running such a selection is an error, raised where the run is planned).
 */
export function resolveSelection(
  graph: AssetGraph,
  source: string,
  context: SelectionContext = {},
): string[] {
  const node = parseSelection(source);
  const all = [...graph.assets.keys()];
  const evaluate = (n: SelectionNode): Set<string> => {
    switch (n.type) {
      case 'all':
        return new Set(all);
      case 'and': {
        const right = evaluate(n.right);
        return new Set([...evaluate(n.left)].filter((k) => right.has(k)));
      }
      case 'or':
        return new Set([...evaluate(n.left), ...evaluate(n.right)]);
      case 'not': {
        const excluded = evaluate(n.operand);
        return new Set(all.filter((k) => !excluded.has(k)));
      }
      case 'traverse': {
        const base = evaluate(n.operand);
        const out = new Set(base);
        for (const k of base) {
          if (n.up > 0) for (const u of graph.upstream(k, n.up)) out.add(u);
          if (n.down > 0) for (const d of graph.downstream(k, n.down)) out.add(d);
        }
        return out;
      }
      case 'function': {
        const set = context[n.name];
        if (!set) {
          throw new SelectionError(
            `${n.name}() in selection "${source}" depends on the instance and cannot be resolved here; use it with 'dag materialize --select' or 'dag list --select'.`,
            { position: n.position },
          );
        }
        return new Set(all.filter((k) => set.has(k)));
      }
      case 'attr': {
        const traversal = starTraversal(graph, n);
        return traversal ? evaluate(traversal) : matchAttr(graph, all, n, source);
      }
    }
  };
  return graph.sort(evaluate(node));
}

/** Whether a selection uses a selection function (and so needs the instance to resolve). */
export function selectionUses(source: string, name: SelectionFunction): boolean {
  const walk = (n: SelectionNode): boolean => {
    switch (n.type) {
      case 'function':
        return n.name === name;
      case 'and':
      case 'or':
        return walk(n.left) || walk(n.right);
      case 'not':
      case 'traverse':
        return walk(n.operand);
      default:
        return false;
    }
  };
  return walk(parseSelection(source));
}

function matchAttr(
  graph: AssetGraph,
  all: string[],
  n: Extract<SelectionNode, { type: 'attr' }>,
  source: string,
): Set<string> {
  // Only attributes other than the key look at every definition (a selection of thousands of
  // keys must not walk the graph once per key).
  const assets = n.attr === 'key' ? [] : all.map((k) => graph.get(k));
  switch (n.attr) {
    case 'key': {
      if (!n.value.includes('*')) {
        if (!graph.has(n.value)) {
          throw new SelectionError(
            `Unknown asset '${n.value}' in selection "${source}" (position ${n.position}).${didYouMean(n.value, all)} Run 'dag list' to see asset keys.`,
            { position: n.position },
          );
        }
        return new Set([n.value]);
      }
      const re = globToRegExp(n.value);
      return new Set(all.filter((k) => re.test(k)));
    }
    case 'group': {
      const re = globToRegExp(n.value);
      return new Set(assets.filter((a) => re.test(a.group)).map((a) => a.key));
    }
    case 'kind':
      return new Set(assets.filter((a) => a.kinds.includes(n.value)).map((a) => a.key));
    case 'owner':
      return new Set(assets.filter((a) => a.owners.includes(n.value)).map((a) => a.key));
    case 'tag': {
      const eq = n.value.indexOf('=');
      const key = eq < 0 ? n.value : n.value.slice(0, eq);
      const value = eq < 0 ? undefined : n.value.slice(eq + 1);
      return new Set(
        assets
          .filter((a) => key in a.tags && (value === undefined || a.tags[key] === value))
          .map((a) => a.key),
      );
    }
  }
}

/**
 * A selection of exactly these asset keys. Built as a balanced tree of `or`s, so that thousands
 * of keys stay far below MAX_SELECTION_DEPTH (a flat chain would add one level per key).
 */
export function selectionOfKeys(keys: readonly string[]): string {
  if (keys.length === 0) throw new SelectionError('A selection of asset keys needs at least one key.');
  const quoted = keys.map((k) => `key:"${k}"`);
  const build = (from: number, to: number): string => {
    if (to - from === 1) return quoted[from]!;
    const mid = (from + to) >> 1;
    return `(${build(from, mid)} or ${build(mid, to)})`;
  };
  return build(0, quoted.length);
}
