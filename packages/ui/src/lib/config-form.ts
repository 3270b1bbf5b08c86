/**
 * The launch page's config form, generated from a job's `configSchema` (JSON Schema of the run
 * config: `ops.<step>.config.<field>`). Pure: fields from a schema, values in and out of a run
 * config object, client-side checks, and server errors mapped onto fields.
 */
import type { JsonSchema } from '../api/types.ts';

export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';

export interface ConfigField {
  step: string;
  /** Path in the run config: ['ops', step, 'config', ...names]. */
  path: string[];
  /** Dotted name inside the step's config (`quality`, `retry.attempts`). */
  label: string;
  kind: FieldKind;
  required: boolean;
  hasDefault: boolean;
  default?: unknown;
  description?: string;
  options?: unknown[];
  minimum?: number;
  maximum?: number;
  nullable: boolean;
}

export interface StepConfigForm {
  step: string;
  fields: ConfigField[];
  /** The step's config has required fields without defaults. */
  required: boolean;
  description?: string;
}

export type RunConfigObject = Record<string, unknown>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Unwraps `anyOf: [X, {type: 'null'}]` and `type: [X, 'null']`. */
function unwrapNullable(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const nonNull = alternatives.filter((s) => s.type !== 'null');
    if (nonNull.length === 1 && nonNull.length < alternatives.length) {
      const inner = unwrapNullable(nonNull[0]!);
      const merged: JsonSchema = { ...inner.schema };
      if (schema.default !== undefined) merged.default = schema.default;
      if (schema.description && !merged.description) merged.description = schema.description;
      return { schema: merged, nullable: true };
    }
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== 'null');
    if (types.length === 1)
      return { schema: { ...schema, type: types[0]! }, nullable: types.length < schema.type.length };
  }
  return { schema, nullable: false };
}

function kindOf(schema: JsonSchema): FieldKind {
  if (schema.enum && schema.enum.length > 0) return 'enum';
  if (schema.const !== undefined) return 'enum';
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.every((s) => s.const !== undefined)) return 'enum';
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    default:
      return 'json';
  }
}

function fieldsOf(
  step: string,
  schema: JsonSchema,
  prefix: string[],
  out: ConfigField[],
  depth: number,
): void {
  const required = new Set(schema.required ?? []);
  for (const [name, raw] of Object.entries(schema.properties ?? {})) {
    const { schema: prop, nullable } = unwrapNullable(raw);
    const names = [...prefix, name];
    // Nested objects with known properties become dotted fields (a few levels deep).
    if (prop.type === 'object' && prop.properties && Object.keys(prop.properties).length > 0 && depth < 3) {
      fieldsOf(step, prop, names, out, depth + 1);
      continue;
    }
    const kind = kindOf(prop);
    const field: ConfigField = {
      step,
      path: ['ops', step, 'config', ...names],
      label: names.join('.'),
      kind,
      required: required.has(name) && prop.default === undefined,
      hasDefault: prop.default !== undefined,
      nullable,
    };
    if (prop.default !== undefined) field.default = prop.default;
    const description = prop.description ?? prop.title;
    if (description) field.description = description;
    if (kind === 'enum') {
      const alternatives = prop.anyOf ?? prop.oneOf;
      field.options =
        prop.enum ?? (prop.const !== undefined ? [prop.const] : (alternatives ?? []).map((s) => s.const));
    }
    const min = prop.minimum ?? prop.exclusiveMinimum;
    const max = prop.maximum ?? prop.exclusiveMaximum;
    if (typeof min === 'number') field.minimum = min;
    if (typeof max === 'number') field.maximum = max;
    out.push(field);
  }
}

/** The form of every step that takes config, in the schema's order. */
export function configFormFromSchema(schema: JsonSchema | null | undefined): StepConfigForm[] {
  const ops = schema?.properties?.ops ?? schema?.properties?.assets;
  if (!ops?.properties) return [];
  const forms: StepConfigForm[] = [];
  for (const [step, stepSchema] of Object.entries(ops.properties)) {
    const config = stepSchema.properties?.config;
    if (!config) continue;
    const { schema: inner } = unwrapNullable(config);
    const fields: ConfigField[] = [];
    if (inner.properties) fieldsOf(step, inner, [], fields, 0);
    else if (inner.type && inner.type !== 'object') {
      // A config that is a bare value: one field for the whole config.
      fields.push({
        step,
        path: ['ops', step, 'config'],
        label: '(config)',
        kind: kindOf(inner),
        required: inner.default === undefined,
        hasDefault: inner.default !== undefined,
        ...(inner.default !== undefined ? { default: inner.default } : {}),
        nullable: false,
      });
    }
    const form: StepConfigForm = { step, fields, required: fields.some((f) => f.required) };
    const description = stepSchema.description ?? config.description;
    if (description) form.description = description;
    forms.push(form);
  }
  return forms;
}

/** A run config holding every default of the form (what a user would start editing from). */
export function scaffoldRunConfig(forms: StepConfigForm[]): RunConfigObject {
  let config: RunConfigObject = {};
  for (const form of forms) {
    for (const field of form.fields) {
      if (field.hasDefault) config = setPath(config, field.path, structuredClone(field.default));
    }
  }
  return config;
}

/**
 * `overlay` merged over `base`, objects key by key (arrays and values replace). Used to start
 * the editor from the schema's defaults with the job's own `defaultRunConfig` on top, so that
 * launching unchanged runs with exactly what the job would use.
 */
export function mergeConfig(base: RunConfigObject, overlay: unknown): RunConfigObject {
  if (!isObject(overlay)) return base;
  const out: RunConfigObject = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? mergeConfig(current, value) : structuredClone(value);
  }
  return out;
}

export function getPath(config: unknown, path: readonly string[]): unknown {
  let current: unknown = config;
  for (const name of path) {
    if (!isObject(current)) return undefined;
    current = current[name];
  }
  return current;
}

/** A field's current value in a run config (`assets:` is accepted for `ops:`). */
export function fieldValue(config: unknown, field: ConfigField): unknown {
  const value = getPath(config, field.path);
  if (value !== undefined) return value;
  return getPath(config, ['assets', ...field.path.slice(1)]);
}

/**
 * A copy of `config` with `path` set to `value`; `undefined` removes the key, and objects left
 * empty by that are removed too.
 */
export function setPath(config: RunConfigObject, path: readonly string[], value: unknown): RunConfigObject {
  if (path.length === 0) return isObject(value) ? value : config;
  const [head, ...rest] = path as [string, ...string[]];
  const copy: RunConfigObject = { ...config };
  if (rest.length === 0) {
    if (value === undefined) delete copy[head];
    else copy[head] = value;
    return copy;
  }
  const child = isObject(copy[head]) ? (copy[head] as RunConfigObject) : {};
  const next = setPath(child, rest, value);
  if (Object.keys(next).length === 0) delete copy[head];
  else copy[head] = next;
  return copy;
}

/** The text an input shows for a value. */
export function fieldInputText(field: ConfigField, value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return field.kind === 'json' ? 'null' : '';
  if (field.kind === 'json') return JSON.stringify(value);
  if (field.kind === 'enum') return JSON.stringify(value);
  return String(value);
}

export type ParsedInput = { ok: true; value: unknown } | { ok: false; error: string };

/** What the user typed, as a config value; empty text means "not set" (undefined). */
export function parseFieldInput(field: ConfigField, input: string | boolean): ParsedInput {
  if (typeof input === 'boolean') return { ok: true, value: input };
  const text = input.trim();
  if (text === '') return { ok: true, value: undefined };
  switch (field.kind) {
    case 'string':
      return { ok: true, value: input };
    case 'number': {
      const n = Number(text);
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, error: 'must be a number' };
    }
    case 'integer': {
      const n = Number(text);
      return Number.isInteger(n) ? { ok: true, value: n } : { ok: false, error: 'must be a whole number' };
    }
    case 'boolean':
      if (text === 'true') return { ok: true, value: true };
      if (text === 'false') return { ok: true, value: false };
      return { ok: false, error: 'must be true or false' };
    case 'enum':
    case 'json':
      try {
        return { ok: true, value: JSON.parse(text) };
      } catch {
        if (field.kind === 'enum') return { ok: true, value: text };
        return { ok: false, error: 'must be JSON' };
      }
  }
}

function typeError(field: ConfigField, value: unknown): string | null {
  if (value === null) return field.nullable ? null : 'must not be null';
  switch (field.kind) {
    case 'string':
      return typeof value === 'string' ? null : 'must be text';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a number';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? null : 'must be a whole number';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'enum':
      return (field.options ?? []).some((o) => JSON.stringify(o) === JSON.stringify(value))
        ? null
        : `must be one of ${(field.options ?? []).map((o) => JSON.stringify(o)).join(', ')}`;
    case 'json':
      return null;
  }
}

/** Client-side checks (the server validates again): missing required fields, types, ranges. */
export function validateRunConfig(forms: StepConfigForm[], config: unknown): Map<string, string> {
  const errors = new Map<string, string>();
  for (const form of forms) {
    for (const field of form.fields) {
      const value = fieldValue(config, field);
      const key = field.path.join('.');
      if (value === undefined) {
        if (field.required) errors.set(key, 'is required');
        continue;
      }
      const problem = typeError(field, value);
      if (problem) {
        errors.set(key, problem);
        continue;
      }
      if (typeof value === 'number') {
        if (field.minimum !== undefined && value < field.minimum)
          errors.set(key, `must be ≥ ${field.minimum}`);
        else if (field.maximum !== undefined && value > field.maximum)
          errors.set(key, `must be ≤ ${field.maximum}`);
      }
    }
  }
  return errors;
}

/**
 * Server validation messages name the step and the field (`Invalid config for asset 'x':
 * field 'quality': expected number; field 'y': ...`, or a dotted `ops.x.config.quality`): each
 * clause is attached to the field it names.
 */
export function fieldErrorsFromMessage(forms: StepConfigForm[], message: string): Map<string, string> {
  const errors = new Map<string, string>();
  const clauses = message
    .split(/\n|;\s+/)
    .map((l) => l.trim())
    .filter(Boolean);
  const add = (key: string, text: string) =>
    errors.set(key, errors.has(key) ? `${errors.get(key)}\n${text}` : text);
  for (const form of forms) {
    const stepNamed = message.includes(`'${form.step}'`) || message.includes(`"${form.step}"`);
    for (const field of form.fields) {
      const dotted = field.path.join('.');
      const inConfig = field.path.slice(3).join('.');
      for (const clause of clauses) {
        const byPath = clause.includes(dotted) || clause.includes(`assets.${field.path.slice(1).join('.')}`);
        const byName =
          stepNamed &&
          inConfig !== '' &&
          (clause.includes(`field '${inConfig}'`) || clause.includes(`field "${inConfig}"`));
        if (byPath || byName) add(dotted, clause.replace(/^Invalid config for \w+ '[^']*':\s*/, ''));
      }
    }
  }
  return errors;
}
