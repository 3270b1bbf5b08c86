/**
 * BigQuery GoogleSQL → DuckDB SQL, for the replica. Written by hand because no npm library
 * translates between the two dialects at the token level we need (sqlglot, which does, is
 * Python); the translation is deliberately narrow: what dbt-style models and the BigQuery
 * client send, listed in the README. Anything else reaches DuckDB unchanged, and DuckDB's own
 * error is reported as `invalidQuery`.
 *
 * Invariant: the translation keeps line breaks where they were, so a line number in DuckDB's
 * error for a translated statement is the same line of the original statement.
 */

export type TokenKind = 'ws' | 'comment' | 'str' | 'id' | 'qid' | 'num' | 'param' | 'op';

export interface Token {
  kind: TokenKind;
  /** The original text. */
  text: string;
  /** Strings: the decoded value; backtick identifiers: the name inside the backticks. */
  value?: string;
  /** Offset of the token in the statement or script it was read from. */
  offset: number;
}

interface Group {
  kind: 'group';
  open: Token;
  items: Node[];
  close: Token | undefined;
}

type Node = Token | Group;

export class SqlTranslationError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'SqlTranslationError';
  }
}

const TWO_CHAR_OPS = new Set(['<=', '>=', '<>', '!=', '||', '::', '=>', '->']);

function decodeEscapes(raw: string, offset: number): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = raw[++i];
    switch (n) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case 'x': {
        out += String.fromCharCode(Number.parseInt(raw.slice(i + 1, i + 3), 16));
        i += 2;
        break;
      }
      case 'u': {
        out += String.fromCharCode(Number.parseInt(raw.slice(i + 1, i + 5), 16));
        i += 4;
        break;
      }
      case undefined:
        throw new SqlTranslationError('Unterminated escape sequence in a string literal', offset);
      default:
        // \\ \' \" \` \? and any other character stand for themselves.
        out += n;
    }
  }
  return out;
}

/** Splits GoogleSQL into tokens. Throws on an unterminated string, identifier or comment. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, start: number, value?: string) =>
    tokens.push({
      kind,
      text: sql.slice(start, i),
      offset: start,
      ...(value === undefined ? {} : { value }),
    });
  while (i < sql.length) {
    const start = i;
    const c = sql[i] as string;
    if (/\s/.test(c)) {
      while (i < sql.length && /\s/.test(sql[i] as string)) i++;
      push('ws', start);
    } else if (c === '#' || (c === '-' && sql[i + 1] === '-')) {
      while (i < sql.length && sql[i] !== '\n') i++;
      push('comment', start);
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new SqlTranslationError('Unclosed comment', start);
      i = end + 2;
      push('comment', start);
    } else if (
      c === "'" ||
      c === '"' ||
      (/[rRbB]/.test(c) && /['"]/.test(sql[i + 1] ?? '')) ||
      (/[rRbB]/.test(c) && /[rRbB]/.test(sql[i + 1] ?? '') && /['"]/.test(sql[i + 2] ?? ''))
    ) {
      let raw = false;
      while (/[rRbB]/.test(sql[i] as string)) {
        if (/[rR]/.test(sql[i] as string)) raw = true;
        i++;
      }
      const quote = sql[i] as string;
      const triple = sql.startsWith(quote.repeat(3), i);
      const delimiter = triple ? quote.repeat(3) : quote;
      i += delimiter.length;
      const bodyStart = i;
      for (;;) {
        if (i >= sql.length || (!triple && sql[i] === '\n')) {
          throw new SqlTranslationError('Unclosed string literal', start);
        }
        if (!raw && sql[i] === '\\') {
          i += 2;
          continue;
        }
        if (sql.startsWith(delimiter, i)) break;
        i++;
      }
      const body = sql.slice(bodyStart, i);
      i += delimiter.length;
      push('str', start, raw ? body : decodeEscapes(body, start));
    } else if (c === '`') {
      const end = sql.indexOf('`', i + 1);
      if (end < 0) throw new SqlTranslationError('Unclosed identifier', start);
      i = end + 1;
      push('qid', start, sql.slice(start + 1, end));
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      while (i < sql.length && /[0-9a-zA-Z_.]/.test(sql[i] as string)) {
        if (/[eE]/.test(sql[i] as string) && /[+-]/.test(sql[i + 1] ?? '')) i++;
        i++;
      }
      push('num', start);
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < sql.length && /[A-Za-z0-9_]/.test(sql[i] as string)) i++;
      push('id', start);
    } else if (c === '@' && /[A-Za-z_@]/.test(sql[i + 1] ?? '')) {
      i++;
      if (sql[i] === '@') i++;
      while (i < sql.length && /[A-Za-z0-9_]/.test(sql[i] as string)) i++;
      push('param', start);
    } else if (c === '?') {
      i++;
      push('param', start);
    } else {
      i += TWO_CHAR_OPS.has(sql.slice(i, i + 2)) ? 2 : 1;
      push('op', start);
    }
  }
  return tokens;
}

function offsetOf(node: Node | undefined): number {
  if (!node) return 0;
  return node.kind === 'group' ? node.open.offset : node.offset;
}

function isSignificant(node: Node): boolean {
  return node.kind !== 'ws' && node.kind !== 'comment';
}

function upper(node: Node | undefined): string {
  return node && node.kind === 'id' ? node.text.toUpperCase() : '';
}

/** One statement of a script: its text and where it starts in the script. */
export interface ScriptStatement {
  sql: string;
  offset: number;
  /** 1-based line and column of its first significant character in the script. */
  line: number;
  column: number;
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Splits a script at top-level semicolons; empty statements are dropped. */
export function splitStatements(script: string): ScriptStatement[] {
  const tokens = tokenize(script);
  const statements: ScriptStatement[] = [];
  let start = -1;
  let depth = 0;
  const flush = (end: number) => {
    if (start >= 0) {
      const { line, column } = lineAndColumn(script, start);
      statements.push({ sql: script.slice(start, end), offset: start, line, column });
    }
    start = -1;
  };
  for (const token of tokens) {
    if (token.kind === 'op' && token.text === '(') depth++;
    if (token.kind === 'op' && token.text === ')') depth--;
    if (token.kind === 'op' && token.text === ';' && depth <= 0) {
      flush(token.offset);
      depth = 0;
      continue;
    }
    if (start < 0 && isSignificant(token)) start = token.offset;
  }
  flush(script.length);
  return statements;
}

function group(tokens: Token[]): Node[] {
  const root: Node[] = [];
  const stack: Group[] = [];
  for (const token of tokens) {
    const target = stack.length > 0 ? (stack[stack.length - 1] as Group).items : root;
    if (token.kind === 'op' && token.text === '(') {
      const g: Group = { kind: 'group', open: token, items: [], close: undefined };
      target.push(g);
      stack.push(g);
    } else if (token.kind === 'op' && token.text === ')') {
      const g = stack.pop();
      if (!g) throw new SqlTranslationError('Unmatched ")"', token.offset);
      g.close = token;
    } else {
      target.push(token);
    }
  }
  return root;
}

function nodeText(node: Node): string {
  return node.kind === 'group' ? `(${node.items.map(nodeText).join('')})` : node.text;
}

function splitArgs(items: Node[]): Node[][] {
  const args: Node[][] = [[]];
  for (const item of items) {
    if (item.kind === 'op' && item.text === ',') args.push([]);
    else (args[args.length - 1] as Node[]).push(item);
  }
  return args.length === 1 && !(args[0] as Node[]).some(isSignificant) ? [] : args;
}

function trimNodes(nodes: Node[]): Node[] {
  let a = 0;
  let b = nodes.length;
  while (a < b && !isSignificant(nodes[a] as Node)) a++;
  while (b > a && !isSignificant(nodes[b - 1] as Node)) b--;
  return nodes.slice(a, b);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const SCALAR_TYPES: Record<string, string> = {
  INT64: 'BIGINT',
  INT: 'BIGINT',
  INTEGER: 'BIGINT',
  SMALLINT: 'BIGINT',
  BIGINT: 'BIGINT',
  TINYINT: 'BIGINT',
  BYTEINT: 'BIGINT',
  FLOAT64: 'DOUBLE',
  FLOAT: 'DOUBLE',
  STRING: 'VARCHAR',
  BOOL: 'BOOLEAN',
  BOOLEAN: 'BOOLEAN',
  BYTES: 'BLOB',
  NUMERIC: 'DECIMAL(38,9)',
  DECIMAL: 'DECIMAL(38,9)',
  // DuckDB's widest decimal is 38 digits; BIGNUMERIC's 76 do not fit.
  BIGNUMERIC: 'DECIMAL(38,9)',
  BIGDECIMAL: 'DECIMAL(38,9)',
  TIMESTAMP: 'TIMESTAMPTZ',
  DATETIME: 'TIMESTAMP',
  DATE: 'DATE',
  TIME: 'TIME',
  JSON: 'JSON',
  INTERVAL: 'INTERVAL',
  GEOGRAPHY: 'VARCHAR',
};

/** Translates a GoogleSQL type (`INT64`, `NUMERIC(10,2)`, `ARRAY<STRUCT<a INT64>>`) to DuckDB. */
export function translateType(typeSql: string): string {
  const tokens = tokenize(typeSql).filter(isSignificant);
  let pos = 0;
  const fail = (): never => {
    throw new SqlTranslationError(`Unsupported type ${typeSql.trim()}`, tokens[pos]?.offset ?? 0);
  };
  const parse = (): string => {
    const token = tokens[pos++];
    if (token?.kind !== 'id') return fail();
    const name = token.text.toUpperCase();
    if (name === 'ARRAY') {
      if (tokens[pos]?.text !== '<') return fail();
      pos++;
      const element = parse();
      if (tokens[pos]?.text !== '>') return fail();
      pos++;
      return `${element}[]`;
    }
    if (name === 'STRUCT') {
      if (tokens[pos]?.text !== '<') return fail();
      pos++;
      const fields: string[] = [];
      while (tokens[pos] && tokens[pos]?.text !== '>') {
        const field = tokens[pos++] as Token;
        const fieldName = field.kind === 'qid' ? (field.value as string) : field.text;
        fields.push(`${quoteIdent(fieldName)} ${parse()}`);
        if (tokens[pos]?.text === ',') pos++;
      }
      if (tokens[pos]?.text !== '>') return fail();
      pos++;
      return `STRUCT(${fields.join(', ')})`;
    }
    const mapped = SCALAR_TYPES[name];
    if (!mapped) return fail();
    if (tokens[pos]?.text === '(') {
      // Parameterized: STRING(10), NUMERIC(10, 2), BYTES(5).
      const params: string[] = [];
      pos++;
      while (tokens[pos] && tokens[pos]?.text !== ')') {
        const t = tokens[pos++] as Token;
        if (t.kind === 'num') params.push(t.text);
      }
      pos++;
      if ((name === 'NUMERIC' || name === 'DECIMAL') && params.length > 0) {
        return `DECIMAL(${params[0]},${params[1] ?? '0'})`;
      }
    }
    return mapped;
  };
  const result = parse();
  if (pos !== tokens.length) fail();
  return result;
}

/** Values for `@name` and `?` parameters, already written as DuckDB SQL literals. */
export interface TranslateOptions {
  namedParameters?: ReadonlyMap<string, string>;
  positionalParameters?: readonly string[];
}

const DATE_PARTS = new Set([
  'MICROSECOND',
  'MILLISECOND',
  'SECOND',
  'MINUTE',
  'HOUR',
  'DAY',
  'WEEK',
  'MONTH',
  'QUARTER',
  'YEAR',
  'ISOWEEK',
  'ISOYEAR',
  'DAYOFWEEK',
  'DAYOFYEAR',
]);

/** The statement kinds the replica reports as BigQuery `statementType`. */
export type StatementType =
  | 'SELECT'
  | 'INSERT'
  | 'UPDATE'
  | 'DELETE'
  | 'MERGE'
  | 'CREATE_TABLE'
  | 'CREATE_TABLE_AS_SELECT'
  | 'CREATE_VIEW'
  | 'CREATE_SCHEMA'
  | 'DROP_TABLE'
  | 'DROP_VIEW'
  | 'DROP_SCHEMA'
  | 'ALTER_TABLE'
  | 'TRUNCATE_TABLE'
  | 'BEGIN_TRANSACTION'
  | 'COMMIT_TRANSACTION'
  | 'ROLLBACK_TRANSACTION'
  | 'SCRIPT';

export interface TranslatedStatement {
  sql: string;
  statementType: StatementType;
  /** For DDL: what BigQuery reports as `ddlOperationPerformed`. */
  ddl?: { operation: 'CREATE' | 'REPLACE' | 'DROP' | 'ALTER' | 'TRUNCATE'; orReplace: boolean };
  /** `CREATE TEMP TABLE` and the like: allowed inside a transaction. */
  temporary: boolean;
  /** The table, view or schema the statement creates, drops or changes, as written (dotted parts). */
  target?: string[];
}

const TARGET_AFTER = new Set(['TABLE', 'VIEW', 'SCHEMA', 'INTO', 'UPDATE', 'FROM', 'EXISTS', 'TRUNCATE']);

/** The dotted name after the statement's first TABLE/VIEW/SCHEMA/INTO/UPDATE/FROM keyword. */
function statementTarget(nodes: Node[]): string[] | undefined {
  const sig = nodes.filter(isSignificant);
  let i = 0;
  while (i < sig.length && !TARGET_AFTER.has(upper(sig[i]))) i++;
  while (
    i < sig.length &&
    ['TABLE', 'VIEW', 'SCHEMA', 'INTO', 'UPDATE', 'FROM', 'IF', 'NOT', 'EXISTS', 'TRUNCATE'].includes(
      upper(sig[i]),
    )
  )
    i++;
  const parts: string[] = [];
  for (; i < sig.length; i++) {
    const node = sig[i] as Node;
    if (node.kind === 'qid') parts.push(...(node.value as string).split('.'));
    else if (node.kind === 'id') parts.push(node.text);
    else break;
    if (!(sig[i + 1]?.kind === 'op' && (sig[i + 1] as Token).text === '.')) break;
    i++;
  }
  return parts.length > 0 ? parts : undefined;
}

function statementTypeOf(words: string[]): TranslatedStatement['statementType'] {
  const [a = '', b = '', c = '', d = ''] = words;
  if (a === 'SELECT' || a === 'WITH' || a === '(') return 'SELECT';
  if (a === 'INSERT') return 'INSERT';
  if (a === 'UPDATE') return 'UPDATE';
  if (a === 'DELETE') return 'DELETE';
  if (a === 'MERGE') return 'MERGE';
  if (a === 'TRUNCATE') return 'TRUNCATE_TABLE';
  if (a === 'BEGIN') return 'BEGIN_TRANSACTION';
  if (a === 'COMMIT') return 'COMMIT_TRANSACTION';
  if (a === 'ROLLBACK') return 'ROLLBACK_TRANSACTION';
  if (a === 'ALTER') return 'ALTER_TABLE';
  if (a === 'CREATE' || a === 'DROP') {
    const kind = [b, c, d].find((w) => ['TABLE', 'VIEW', 'SCHEMA', 'MATERIALIZED'].includes(w)) as
      | string
      | undefined;
    if (kind === 'SCHEMA') return a === 'CREATE' ? 'CREATE_SCHEMA' : 'DROP_SCHEMA';
    if (kind === 'VIEW' || kind === 'MATERIALIZED') return a === 'CREATE' ? 'CREATE_VIEW' : 'DROP_VIEW';
    if (a === 'DROP') return 'DROP_TABLE';
    return words.includes('AS') ? 'CREATE_TABLE_AS_SELECT' : 'CREATE_TABLE';
  }
  return 'SELECT';
}

/**
 * Translates one GoogleSQL statement (no trailing semicolon) to DuckDB SQL.
 * Throws SqlTranslationError for what the replica knowingly does not support.
 */
export function translateStatement(sql: string, options: TranslateOptions = {}): TranslatedStatement {
  const tokens = tokenize(sql);
  const nodes = group(tokens);
  // The statement's top-level words (a parenthesized part counts as `(` only when first).
  const words: string[] = [];
  for (const node of nodes) {
    if (!isSignificant(node)) continue;
    if (node.kind === 'group') {
      if (words.length === 0) words.push('(');
      continue;
    }
    words.push(node.kind === 'id' ? node.text.toUpperCase() : node.text);
  }
  const statementType = statementTypeOf(words);
  const first = words[0] ?? '';
  if (first === 'BEGIN' && words[1] !== 'TRANSACTION' && words[1] !== 'TRAN' && words.length > 1) {
    throw new SqlTranslationError(
      'BEGIN ... END blocks are not supported by the replica; only BEGIN TRANSACTION',
      tokens.find(isSignificant)?.offset ?? 0,
    );
  }
  for (const unsupported of ['DECLARE', 'SET', 'IF', 'LOOP', 'WHILE', 'CALL', 'EXECUTE', 'RAISE']) {
    if (first === unsupported) {
      throw new SqlTranslationError(
        `Scripting statement ${unsupported} is not supported by the replica`,
        tokens.find(isSignificant)?.offset ?? 0,
      );
    }
  }
  const state = { positional: 0 };
  let out = translateNodes(nodes, { top: true, statementType, options, state });
  if (first === 'BEGIN') out = 'BEGIN TRANSACTION';
  let ddl: TranslatedStatement['ddl'];
  if (first === 'CREATE' || first === 'DROP' || first === 'ALTER' || first === 'TRUNCATE') {
    const orReplace = first === 'CREATE' && words[1] === 'OR' && words[2] === 'REPLACE';
    ddl = {
      operation:
        first === 'CREATE' ? (orReplace ? 'REPLACE' : 'CREATE') : (first as 'DROP' | 'ALTER' | 'TRUNCATE'),
      orReplace,
    };
  }
  const temporary = first === 'CREATE' && words.slice(1, 4).some((w) => w === 'TEMP' || w === 'TEMPORARY');
  const target = statementTarget(nodes);
  return { sql: out, statementType, temporary, ...(ddl ? { ddl } : {}), ...(target ? { target } : {}) };
}

interface Context {
  /** Top level of the statement (not inside parentheses). */
  top: boolean;
  statementType: TranslatedStatement['statementType'];
  options: TranslateOptions;
  state: { positional: number };
  /** Inside the column list of CREATE TABLE (...). */
  columnDefinitions?: boolean;
}

function nextSignificant(nodes: Node[], from: number): number {
  let i = from;
  while (i < nodes.length && !isSignificant(nodes[i] as Node)) i++;
  return i;
}

function previousSignificant(nodes: Node[], from: number): number {
  let i = from;
  while (i >= 0 && !isSignificant(nodes[i] as Node)) i--;
  return i;
}

function translateNodes(nodes: Node[], ctx: Context): string {
  let out = '';
  const firstIndex = nextSignificant(nodes, 0);
  const firstWord = upper(nodes[firstIndex]);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as Node;
    if (node.kind === 'group') {
      const prev = nodes[previousSignificant(nodes, i - 1)];
      const isTableColumns =
        ctx.top &&
        firstWord === 'CREATE' &&
        ctx.statementType === 'CREATE_TABLE' &&
        (prev?.kind === 'id' || prev?.kind === 'qid') &&
        !out.includes('(');
      out += `(${translateNodes(node.items, { ...ctx, top: false, columnDefinitions: isTableColumns })})`;
      continue;
    }
    switch (node.kind) {
      case 'ws':
        out += node.text;
        continue;
      case 'comment':
        out += node.text.startsWith('#') ? `--${node.text.slice(1)}` : node.text;
        continue;
      case 'str':
        out += quoteString(node.value as string);
        continue;
      case 'qid':
        out += (node.value as string).split('.').map(quoteIdent).join('.');
        continue;
      case 'num':
        // A decimal literal is FLOAT64 in BigQuery and DECIMAL in DuckDB.
        out +=
          /^[0-9.]*[.eE]/.test(node.text) && !/^0x/i.test(node.text)
            ? `CAST(${node.text} AS DOUBLE)`
            : node.text;
        continue;
      case 'op':
        out += node.text;
        continue;
      case 'param': {
        out += parameterValue(node, ctx);
        continue;
      }
      default:
        break;
    }
    // An identifier or keyword.
    const word = node.text.toUpperCase();
    const nextIndex = nextSignificant(nodes, i + 1);
    const next = nodes[nextIndex];
    const prevNode = nodes[previousSignificant(nodes, i - 1)];

    // Column definitions: `name TYPE [NOT NULL] [OPTIONS(...)]`.
    if (ctx.columnDefinitions) {
      const prevIsNameStart =
        (prevNode?.kind === 'id' || prevNode?.kind === 'qid') &&
        (() => {
          const before = nodes[previousSignificant(nodes, previousSignificant(nodes, i - 1) - 1)];
          return before === undefined || (before.kind === 'op' && before.text === ',');
        })();
      if (prevIsNameStart && (SCALAR_TYPES[word] || word === 'ARRAY' || word === 'STRUCT')) {
        const end = typeEnd(nodes, i);
        out += translateType(nodes.slice(i, end).map(nodeText).join(''));
        i = end - 1;
        continue;
      }
    }
    // ALTER TABLE t ADD COLUMN [IF NOT EXISTS] name TYPE.
    if (
      ctx.top &&
      firstWord === 'ALTER' &&
      (SCALAR_TYPES[word] || word === 'ARRAY' || word === 'STRUCT') &&
      (prevNode?.kind === 'id' || prevNode?.kind === 'qid') &&
      ['COLUMN', 'EXISTS'].includes(
        upper(nodes[previousSignificant(nodes, previousSignificant(nodes, i - 1) - 1)]),
      )
    ) {
      const end = typeEnd(nodes, i);
      out += translateType(nodes.slice(i, end).map(nodeText).join(''));
      i = end - 1;
      continue;
    }
    if (word === 'OPTIONS' && next?.kind === 'group' && ctx.statementType !== 'SELECT') {
      // Table, column and dataset OPTIONS(...) (descriptions, labels, expiration) carry no data.
      i = nextIndex;
      continue;
    }
    if (
      ctx.top &&
      firstWord === 'CREATE' &&
      (word === 'PARTITION' || word === 'CLUSTER') &&
      upper(next) === 'BY'
    ) {
      // Partitioning and clustering change cost, not results: dropped up to the next clause.
      let j = nextIndex + 1;
      for (; j < nodes.length; j++) {
        const w = upper(nodes[j]);
        if (w === 'AS' || w === 'OPTIONS' || w === 'CLUSTER' || w === 'PARTITION') break;
      }
      i = j - 1;
      continue;
    }
    if (i === firstIndex && ctx.top) {
      if (word === 'MERGE' && upper(next) !== 'INTO') {
        out += 'MERGE INTO';
        continue;
      }
      if (word === 'INSERT' && upper(next) !== 'INTO') {
        out += 'INSERT INTO';
        continue;
      }
      if (word === 'DELETE' && upper(next) !== 'FROM') {
        out += 'DELETE FROM';
        continue;
      }
    }
    // Array subscripts: arr[OFFSET(i)] is 0-based, arr[ORDINAL(i)] 1-based; DuckDB's are 1-based.
    if (
      ['OFFSET', 'SAFE_OFFSET', 'ORDINAL', 'SAFE_ORDINAL'].includes(word) &&
      next?.kind === 'group' &&
      prevNode?.kind === 'op' &&
      prevNode.text === '['
    ) {
      const index = translateNodes(next.items, { ...ctx, top: false, columnDefinitions: false });
      out += word.endsWith('OFFSET') ? `(${index}) + 1` : `(${index})`;
      i = nextIndex;
      continue;
    }
    if (word === 'EXCEPT' && prevNode?.kind === 'op' && prevNode.text === '*') {
      out += 'EXCLUDE';
      continue;
    }
    if (word === 'DISTINCT' && ['UNION', 'EXCEPT', 'INTERSECT'].includes(upper(prevNode))) {
      // DuckDB's set operations are distinct by default and do not take the keyword.
      continue;
    }
    if (word === 'TRAN' && upper(prevNode) === 'BEGIN') {
      out += 'TRANSACTION';
      continue;
    }
    // Typed literals: TIMESTAMP '...', DATETIME '...', NUMERIC '...', JSON '...'.
    if (
      next?.kind === 'str' &&
      SCALAR_TYPES[word] &&
      word !== 'DATE' &&
      word !== 'TIME' &&
      word !== 'INTERVAL'
    ) {
      out += `CAST(${quoteString(next.value as string)} AS ${SCALAR_TYPES[word]})`;
      i = nextIndex;
      continue;
    }
    // A dotted name (`a.b.c`): only the first part can be a function name.
    const isQualified = prevNode?.kind === 'op' && prevNode.text === '.';
    if (word === 'UNNEST' && next?.kind === 'group' && !isQualified) {
      // BigQuery's `UNNEST(array) AS x` names the element column x; DuckDB names the table.
      const asIndex = nextSignificant(nodes, nextIndex + 1);
      const aliasIndex = upper(nodes[asIndex]) === 'AS' ? nextSignificant(nodes, asIndex + 1) : asIndex;
      const alias = nodes[aliasIndex];
      const inner = translateNodes(next.items, { ...ctx, top: false, columnDefinitions: false });
      if ((alias?.kind === 'id' || alias?.kind === 'qid') && !RESERVED_AFTER_FROM.has(upper(alias))) {
        const name = alias.kind === 'qid' ? quoteIdent(alias.value as string) : alias.text;
        out += `unnest(${inner}) AS ${name}(${name})`;
        i = aliasIndex;
        continue;
      }
      out += `unnest(${inner})`;
      i = nextIndex;
      continue;
    }
    if (next?.kind === 'group' && !isQualified) {
      const rewritten = rewriteCall(word, next, ctx);
      if (rewritten !== undefined) {
        out += rewritten;
        i = nextIndex;
        continue;
      }
    }
    out += node.text;
  }
  return out;
}

/** Words that can follow a FROM item and so are no alias. */
const RESERVED_AFTER_FROM = new Set([
  'WHERE',
  'GROUP',
  'ORDER',
  'LIMIT',
  'JOIN',
  'LEFT',
  'RIGHT',
  'INNER',
  'FULL',
  'CROSS',
  'ON',
  'USING',
  'UNION',
  'EXCEPT',
  'INTERSECT',
  'WITH',
  'HAVING',
  'QUALIFY',
  'WINDOW',
  'OFFSET',
]);

/** Where a column's type ends: before NOT/OPTIONS/DEFAULT/`,` at this level. */
function typeEnd(nodes: Node[], start: number): number {
  let depth = 0;
  let i = start;
  for (; i < nodes.length; i++) {
    const node = nodes[i] as Node;
    if (node.kind === 'op' && node.text === '<') depth++;
    if (node.kind === 'op' && node.text === '>') depth--;
    if (depth === 0) {
      const w = upper(node);
      if (i > start && (w === 'NOT' || w === 'OPTIONS' || w === 'DEFAULT' || w === 'PRIMARY')) break;
      if (node.kind === 'op' && node.text === ',') break;
    }
  }
  while (i > start && !isSignificant(nodes[i - 1] as Node)) i--;
  return i;
}

function parameterValue(node: Token, ctx: Context): string {
  if (node.text === '?') {
    const value = ctx.options.positionalParameters?.[ctx.state.positional++];
    if (value === undefined) {
      throw new SqlTranslationError('Query has more ? parameters than queryParameters', node.offset);
    }
    return value;
  }
  if (node.text.startsWith('@@')) {
    throw new SqlTranslationError(
      `System variable ${node.text} is not supported by the replica`,
      node.offset,
    );
  }
  const name = node.text.slice(1);
  const value = ctx.options.namedParameters?.get(name.toLowerCase());
  if (value === undefined) throw new SqlTranslationError(`Query parameter '${name}' not found`, node.offset);
  return value;
}

function argText(arg: Node[], ctx: Context): string {
  return translateNodes(trimNodes(arg), { ...ctx, top: false, columnDefinitions: false }).trim();
}

/** `INTERVAL <expr> <PART>` → [expr, part]. */
function intervalArg(arg: Node[], ctx: Context, fn: string): { amount: string; part: string } {
  const nodes = trimNodes(arg);
  const sig = nodes.filter(isSignificant);
  const last = sig[sig.length - 1];
  if (upper(sig[0]) !== 'INTERVAL' || !last || !DATE_PARTS.has(upper(last))) {
    throw new SqlTranslationError(
      `${fn} expects INTERVAL <n> <date part> as its second argument`,
      offsetOf(sig[0]),
    );
  }
  const inner = nodes.slice(nodes.indexOf(sig[0] as Node) + 1, nodes.lastIndexOf(last));
  return { amount: argText(inner, ctx), part: upper(last) };
}

function intervalSql(amount: string, part: string): string {
  switch (part) {
    case 'MICROSECOND':
      return `to_microseconds(${amount})`;
    case 'MILLISECOND':
      return `to_milliseconds(${amount})`;
    case 'SECOND':
      return `to_seconds(${amount})`;
    case 'MINUTE':
      return `to_minutes(${amount})`;
    case 'HOUR':
      return `to_hours(${amount})`;
    case 'DAY':
      return `to_days(${amount})`;
    case 'WEEK':
      return `to_weeks(${amount})`;
    case 'MONTH':
      return `to_months(${amount})`;
    case 'QUARTER':
      return `to_months(3 * (${amount}))`;
    case 'YEAR':
      return `to_years(${amount})`;
    default:
      throw new SqlTranslationError(`Date part ${part} cannot be added`, 0);
  }
}

function datePartName(arg: Node[], fn: string): string {
  const sig = trimNodes(arg).filter(isSignificant);
  const part = upper(sig[0]);
  if (!DATE_PARTS.has(part)) {
    throw new SqlTranslationError(`${fn} expects a date part (DAY, HOUR, MONTH...)`, offsetOf(sig[0]));
  }
  // BigQuery's WEEK starts on Sunday; DuckDB's week is the ISO week (Monday).
  if (part === 'ISOWEEK') return 'week';
  if (part === 'ISOYEAR') return 'isoyear';
  if (part === 'DAYOFWEEK') return 'dow';
  if (part === 'DAYOFYEAR') return 'doy';
  return part.toLowerCase();
}

/** CAST-like argument `expr AS type` → [expr, DuckDB type]. */
function castArg(arg: Node[], ctx: Context, fn: string): { expr: string; type: string } {
  const nodes = trimNodes(arg);
  let asIndex = -1;
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (upper(nodes[i]) === 'AS') {
      asIndex = i;
      break;
    }
  }
  if (asIndex < 0) throw new SqlTranslationError(`${fn} expects <expression> AS <type>`, offsetOf(nodes[0]));
  const typeNodes = nodes.slice(asIndex + 1);
  const formatIndex = typeNodes.findIndex((n) => upper(n) === 'FORMAT');
  if (formatIndex >= 0) throw new SqlTranslationError(`${fn} ... FORMAT is not supported by the replica`, 0);
  return {
    expr: argText(nodes.slice(0, asIndex), ctx),
    type: translateType(typeNodes.map(nodeText).join('')),
  };
}

function requireArgs(fn: string, args: Node[][], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    throw new SqlTranslationError(
      `No matching signature for function ${fn}: it takes ${min === max ? min : `${min} to ${max}`} arguments, got ${args.length}`,
      0,
    );
  }
}

function rewriteCall(word: string, call: Group, ctx: Context): string | undefined {
  const raw = splitArgs(call.items);
  const a = (i: number) => argText(raw[i] ?? [], ctx);
  const all = () => raw.map((_, i) => a(i)).join(', ');
  switch (word) {
    case 'CAST':
    case 'SAFE_CAST': {
      requireArgs(word, raw, 1);
      const { expr, type } = castArg(raw[0] ?? [], ctx, word);
      return `${word === 'CAST' ? 'CAST' : 'TRY_CAST'}(${expr} AS ${type})`;
    }
    case 'TIMESTAMP_ADD':
    case 'DATETIME_ADD':
    case 'TIME_ADD':
    case 'TIMESTAMP_SUB':
    case 'DATETIME_SUB':
    case 'TIME_SUB':
    case 'DATE_ADD':
    case 'DATE_SUB': {
      requireArgs(word, raw, 2);
      const { amount, part } = intervalArg(raw[1] ?? [], ctx, word);
      const sign = word.endsWith('_ADD') ? '+' : '-';
      const sum = `(${a(0)}) ${sign} ${intervalSql(amount, part)}`;
      return word.startsWith('DATE_') ? `CAST(${sum} AS DATE)` : `(${sum})`;
    }
    case 'DATE_TRUNC':
    case 'TIMESTAMP_TRUNC':
    case 'DATETIME_TRUNC':
    case 'TIME_TRUNC': {
      requireArgs(word, raw, 2, 3);
      const part = datePartName(raw[1] ?? [], word);
      const truncated = `date_trunc('${part}', ${a(0)})`;
      // DuckDB truncates a DATE to a TIMESTAMP; BigQuery keeps the DATE.
      return word === 'DATE_TRUNC' ? `CAST(${truncated} AS DATE)` : truncated;
    }
    case 'DATE_DIFF':
    case 'TIMESTAMP_DIFF':
    case 'DATETIME_DIFF': {
      requireArgs(word, raw, 3);
      return `date_diff('${datePartName(raw[2] ?? [], word)}', ${a(1)}, ${a(0)})`;
    }
    case 'SAFE_DIVIDE': {
      requireArgs(word, raw, 2);
      return `(CASE WHEN (${a(1)}) = 0 THEN NULL ELSE CAST(${a(0)} AS DOUBLE) / (${a(1)}) END)`;
    }
    case 'DIV':
      requireArgs(word, raw, 2);
      return `((${a(0)}) // (${a(1)}))`;
    case 'CURRENT_TIMESTAMP':
      requireArgs(word, raw, 0);
      return 'current_timestamp';
    case 'CURRENT_DATE':
      requireArgs(word, raw, 0, 1);
      return 'current_date';
    case 'CURRENT_DATETIME':
      requireArgs(word, raw, 0, 1);
      return 'CAST(current_timestamp AS TIMESTAMP)';
    case 'JSON_VALUE':
    case 'JSON_EXTRACT_SCALAR':
      requireArgs(word, raw, 1, 2);
      return `json_extract_string(${a(0)}, ${raw.length > 1 ? a(1) : "'$'"})`;
    case 'JSON_QUERY':
    case 'JSON_EXTRACT':
      requireArgs(word, raw, 1, 2);
      return `json_extract(${a(0)}, ${raw.length > 1 ? a(1) : "'$'"})`;
    case 'PARSE_JSON':
      return `CAST(${a(0)} AS JSON)`;
    case 'TO_JSON_STRING':
      return `CAST(to_json(${a(0)}) AS VARCHAR)`;
    case 'TO_JSON':
      return `to_json(${a(0)})`;
    case 'COUNTIF':
      return `count_if(${all()})`;
    case 'LOGICAL_AND':
      return `bool_and(${all()})`;
    case 'LOGICAL_OR':
      return `bool_or(${all()})`;
    case 'REGEXP_CONTAINS':
      return `regexp_matches(${all()})`;
    case 'SPLIT':
      return `string_split(${a(0)}, ${raw.length > 1 ? a(1) : "','"})`;
    case 'FORMAT_DATE':
    case 'FORMAT_TIMESTAMP':
    case 'FORMAT_DATETIME':
      requireArgs(word, raw, 2, 3);
      return `strftime(${a(1)}, ${a(0)})`;
    case 'PARSE_DATE':
      requireArgs(word, raw, 2);
      return `CAST(strptime(${a(1)}, ${a(0)}) AS DATE)`;
    case 'PARSE_TIMESTAMP':
      requireArgs(word, raw, 2, 3);
      return `CAST(strptime(${a(1)}, ${a(0)}) AS TIMESTAMPTZ)`;
    case 'PARSE_DATETIME':
      requireArgs(word, raw, 2);
      return `CAST(strptime(${a(1)}, ${a(0)}) AS TIMESTAMP)`;
    case 'GENERATE_UUID':
      return 'CAST(gen_random_uuid() AS VARCHAR)';
    case 'MD5':
      // BigQuery's MD5 returns BYTES; DuckDB's returns hex text.
      return `unhex(md5(${a(0)}))`;
    case 'TO_HEX':
      return `lower(hex(${a(0)}))`;
    case 'UNIX_SECONDS':
      return `CAST(epoch(${a(0)}) AS BIGINT)`;
    case 'UNIX_MILLIS':
      return `epoch_ms(${a(0)})`;
    case 'UNIX_MICROS':
      return `epoch_us(${a(0)})`;
    case 'TIMESTAMP_SECONDS':
      return `to_timestamp(${a(0)})`;
    case 'TIMESTAMP_MILLIS':
      return `to_timestamp((${a(0)}) / 1000)`;
    case 'TIMESTAMP_MICROS':
      return `to_timestamp((${a(0)}) / 1000000)`;
    case 'DATE':
      if (raw.length === 3) return `make_date(${all()})`;
      requireArgs(word, raw, 1, 2);
      return `CAST(${a(0)} AS DATE)`;
    case 'TIMESTAMP':
      requireArgs(word, raw, 1, 2);
      return `CAST(${a(0)} AS TIMESTAMPTZ)`;
    case 'DATETIME':
      if (raw.length === 2) return `CAST((${a(0)}) + (${a(1)}) AS TIMESTAMP)`;
      requireArgs(word, raw, 1);
      return `CAST(${a(0)} AS TIMESTAMP)`;
    case 'STRING':
      requireArgs(word, raw, 1, 2);
      return `CAST(${a(0)} AS VARCHAR)`;
    case 'IFNULL':
      return `coalesce(${all()})`;
    case 'GENERATE_ARRAY':
      requireArgs(word, raw, 2, 3);
      return `generate_series(${all()})`;
    case 'EXTRACT': {
      const sig = trimNodes(call.items).filter(isSignificant);
      const part = upper(sig[0]);
      if (part === 'DAYOFWEEK') {
        // BigQuery counts Sunday as 1; DuckDB's dow counts it as 0.
        const fromIndex = call.items.findIndex((n) => upper(n) === 'FROM');
        return `(EXTRACT(dow FROM ${argText(call.items.slice(fromIndex + 1), ctx)}) + 1)`;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
