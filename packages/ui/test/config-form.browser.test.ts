/** The launch page's config form generated from a job's JSON Schema (pure: no browser needed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { JsonSchema } from '../src/api/types.ts';
import {
  configFormFromSchema,
  fieldErrorsFromMessage,
  fieldInputText,
  fieldValue,
  getPath,
  mergeConfig,
  parseFieldInput,
  scaffoldRunConfig,
  setPath,
  validateRunConfig,
} from '../src/lib/config-form.ts';

/** A run config schema as the server builds it (z.toJSONSchema with io: 'input'). */
function runConfigSchema(steps: Record<string, z.ZodType | undefined>): JsonSchema {
  const ops: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(steps)) {
    if (!schema) continue;
    const config = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    delete config.$schema;
    ops[key] = { type: 'object', properties: { config }, additionalProperties: false };
  }
  return {
    type: 'object',
    properties: { ops: { type: 'object', properties: ops, additionalProperties: false } },
  } as JsonSchema;
}

const schema = runConfigSchema({
  logger: z.object({
    lines: z.number().int().min(1).max(1000).default(12),
    delayMs: z.number().default(250),
    greeting: z.string().default('안녕하세요'),
    loud: z.boolean().default(false),
    mode: z.enum(['fast', 'careful']).default('careful'),
    label: z.string().optional(),
    nullable: z.number().nullable().optional(),
    retry: z.object({ attempts: z.number().int().default(3) }).default({ attempts: 3 }),
    tags: z.array(z.string()).default([]),
  }),
  plain: undefined,
  needy: z.object({ confirm: z.string() }),
});

describe('configFormFromSchema', () => {
  it('has one form per step with config and a field per property', () => {
    const forms = configFormFromSchema(schema);
    assert.deepEqual(
      forms.map((f) => f.step),
      ['logger', 'needy'],
    );
    const logger = forms[0]!;
    assert.deepEqual(
      logger.fields.map((f) => [f.label, f.kind, f.required, f.default]),
      [
        ['lines', 'integer', false, 12],
        ['delayMs', 'number', false, 250],
        ['greeting', 'string', false, '안녕하세요'],
        ['loud', 'boolean', false, false],
        ['mode', 'enum', false, 'careful'],
        ['label', 'string', false, undefined],
        ['nullable', 'number', false, undefined],
        ['retry.attempts', 'integer', false, 3],
        ['tags', 'json', false, []],
      ],
    );
    const lines = logger.fields[0]!;
    assert.deepEqual(lines.path, ['ops', 'logger', 'config', 'lines']);
    assert.equal(lines.minimum, 1);
    assert.equal(lines.maximum, 1000);
    assert.deepEqual(logger.fields[4]!.options, ['fast', 'careful']);
    assert.equal(logger.fields[6]!.nullable, true);
    assert.equal(logger.required, false);
    const needy = forms[1]!;
    assert.equal(needy.required, true);
    assert.deepEqual(
      needy.fields.map((f) => [f.label, f.required]),
      [['confirm', true]],
    );
  });

  it('gives nothing for jobs without config or without a schema', () => {
    assert.deepEqual(configFormFromSchema(null), []);
    assert.deepEqual(
      configFormFromSchema({ type: 'object', properties: { ops: { type: 'object', properties: {} } } }),
      [],
    );
  });
});

describe('run config values', () => {
  const forms = configFormFromSchema(schema);
  const [lines, , greeting, loud, mode, label, , attempts, tags] = forms[0]!.fields;

  it('scaffolds every default', () => {
    assert.deepEqual(scaffoldRunConfig(forms), {
      ops: {
        logger: {
          config: {
            lines: 12,
            delayMs: 250,
            greeting: '안녕하세요',
            loud: false,
            mode: 'careful',
            retry: { attempts: 3 },
            tags: [],
          },
        },
      },
    });
  });

  it("starts from the schema's defaults with the job's own run config on top", () => {
    const merged = mergeConfig(scaffoldRunConfig(forms), {
      ops: { logger: { config: { lines: 99, retry: { attempts: 5 } } } },
      resources: { r: { config: { a: 1 } } },
    });
    assert.equal(getPath(merged, ['ops', 'logger', 'config', 'lines']), 99);
    assert.equal(getPath(merged, ['ops', 'logger', 'config', 'greeting']), '안녕하세요');
    assert.deepEqual(getPath(merged, ['ops', 'logger', 'config', 'retry']), { attempts: 5 });
    assert.deepEqual(getPath(merged, ['resources', 'r', 'config']), { a: 1 });
    assert.deepEqual(mergeConfig({ a: 1 }, null), { a: 1 });
  });

  it('sets and removes values without touching the rest, pruning empty objects', () => {
    const start = { ops: { logger: { config: { lines: 5 } } }, resources: { r: { config: { a: 1 } } } };
    const set = setPath(start, attempts!.path, 9);
    assert.deepEqual(getPath(set, attempts!.path), 9);
    assert.equal(getPath(start, attempts!.path), undefined, 'the original is not modified');
    const removed = setPath(
      setPath(start, lines!.path, undefined),
      ['resources', 'r', 'config', 'a'],
      undefined,
    );
    assert.deepEqual(removed, {});
    // `assets:` is an alias of `ops:`.
    assert.equal(fieldValue({ assets: { logger: { config: { lines: 7 } } } }, lines!), 7);
  });

  it('parses what is typed into each kind of field', () => {
    assert.deepEqual(parseFieldInput(lines!, '42'), { ok: true, value: 42 });
    assert.deepEqual(parseFieldInput(lines!, '4.5'), { ok: false, error: 'must be a whole number' });
    assert.deepEqual(parseFieldInput(lines!, ''), { ok: true, value: undefined });
    assert.deepEqual(parseFieldInput(greeting!, ' 반갑습니다 '), { ok: true, value: ' 반갑습니다 ' });
    assert.deepEqual(parseFieldInput(loud!, true), { ok: true, value: true });
    assert.deepEqual(parseFieldInput(mode!, '"fast"'), { ok: true, value: 'fast' });
    assert.deepEqual(parseFieldInput(tags!, '["a","b"]'), { ok: true, value: ['a', 'b'] });
    assert.deepEqual(parseFieldInput(tags!, '[oops'), { ok: false, error: 'must be JSON' });
    assert.equal(fieldInputText(mode!, 'fast'), '"fast"');
    assert.equal(fieldInputText(tags!, ['a']), '["a"]');
    assert.equal(fieldInputText(label!, undefined), '');
  });

  it('validates types, ranges, enums and required fields', () => {
    const errors = validateRunConfig(forms, {
      ops: { logger: { config: { lines: 0, delayMs: 'slow', mode: 'reckless', loud: 'yes' } } },
    });
    assert.deepEqual(Object.fromEntries(errors), {
      'ops.logger.config.lines': 'must be ≥ 1',
      'ops.logger.config.delayMs': 'must be a number',
      'ops.logger.config.mode': 'must be one of "fast", "careful"',
      'ops.logger.config.loud': 'must be true or false',
      'ops.needy.config.confirm': 'is required',
    });
    const ok = setPath(scaffoldRunConfig(forms), ['ops', 'needy', 'config', 'confirm'], 'bucket');
    assert.equal(validateRunConfig(forms, ok).size, 0);
  });

  it("puts the server's validation message on the fields it names", () => {
    const message =
      "Invalid config for asset 'logger': field 'lines': Too small: expected number to be >=1; field 'retry.attempts': Invalid input: expected int, received string. Set it in the run config under ops.logger.config.";
    const errors = fieldErrorsFromMessage(forms, message);
    assert.deepEqual([...errors.keys()].sort(), [
      'ops.logger.config.lines',
      'ops.logger.config.retry.attempts',
    ]);
    assert.equal(
      errors.get('ops.logger.config.lines'),
      "field 'lines': Too small: expected number to be >=1",
    );
    assert.equal(fieldErrorsFromMessage(forms, 'Run config has config for nope').size, 0);
  });
});
