/**
 * The TypeScript samples of README.md and docs/ are code: every ```ts block is typechecked
 * against the real packages, and the ones marked runnable are loaded and materialized.
 *
 * An HTML comment right before a block says how to treat it:
 *
 * - none: a whole module, typechecked as it is;
 * - `<!-- sample: run -->`: a whole definitions module, typechecked, then loaded and every
 *   asset in it materialized on a fresh instance; the run must succeed;
 * - `<!-- sample: prelude ... -->`: a fragment; the comment's other lines are put before it
 *   (imports, declarations of what the fragment refers to);
 * - `<!-- sample: not-code: <reason> -->`: not TypeScript to compile (the reason is required).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ts from 'typescript';
import { loadDefinitionsFile, materialize, partitionKeys } from '../src/index.ts';
import { freshInstance, type TestInstance } from './support.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

export interface Sample {
  /** `docs/definitions.md:91`: where the block's first code line is. */
  where: string;
  markdown: string;
  /** 1-based line of the block's first code line in the Markdown file. */
  line: number;
  code: string;
  mode: 'module' | 'run' | 'prelude' | 'not-code';
  prelude: string;
  reason?: string;
}

const FENCE = /^```(\w*)\s*$/;
const MARKER = /^<!--\s*sample:\s*(run|prelude|not-code)\b([\s\S]*?)-->\s*$/;

/** Every TypeScript block of a Markdown text, with the marker that precedes it. */
export function extractSamples(markdown: string, text: string): Sample[] {
  const lines = text.split('\n');
  const samples: Sample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    const language = open[1]!.toLowerCase();
    if (language === 'ts' || language === 'typescript') {
      // The marker is the comment that ends on the line before the fence.
      const before = lines.slice(0, i).join('\n');
      const comment = lines[i - 1]?.trimEnd().endsWith('-->') ? before.slice(before.lastIndexOf('<!--')) : '';
      const marker = MARKER.exec(comment);
      const kind = marker ? (marker[1] as Sample['mode']) : 'module';
      const rest = marker?.[2] ?? '';
      samples.push({
        where: `${markdown}:${i + 2}`,
        markdown,
        line: i + 2,
        code: lines.slice(i + 1, end).join('\n'),
        mode: kind,
        prelude: kind === 'prelude' ? rest.replace(/^[^\n]*\n/, '') : '',
        ...(kind === 'not-code' ? { reason: rest.replace(/^\s*:?\s*/, '').trim() } : {}),
      });
    }
    i = end;
  }
  return samples;
}

async function markdownFiles(): Promise<string[]> {
  const docs = (await readdir(path.join(ROOT, 'docs')))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs.sort()];
}

describe('code samples of README.md and docs/', () => {
  let dir: string;
  const samples: { sample: Sample; file: string; preludeLines: number }[] = [];
  let diagnostics: Map<string, string[]>;
  let t: TestInstance;

  before(async () => {
    // Inside the repository, so that '@dag/core' and 'zod' resolve as they do for a user's
    // code location in this workspace.
    dir = await mkdtemp(path.join(ROOT, '.docs-samples-'));
    for (const markdown of await markdownFiles()) {
      const text = await readFile(path.join(ROOT, markdown), 'utf8');
      for (const sample of extractSamples(markdown, text)) {
        const file = path.join(dir, `${markdown.replace(/[/.]/g, '_')}_${sample.line}.ts`);
        const prelude = sample.prelude ? `${sample.prelude.trimEnd()}\n` : '';
        // `export {}` keeps a sample without imports a module of its own.
        await writeFile(file, `${prelude}${sample.code}\nexport {};\n`);
        samples.push({ sample, file, preludeLines: prelude ? prelude.split('\n').length - 1 : 0 });
      }
    }
    const config = ts.readConfigFile(path.join(ROOT, 'tsconfig.base.json'), ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const compiled = samples.filter((s) => s.sample.mode !== 'not-code');
    const program = ts.createProgram(
      compiled.map((s) => s.file),
      options,
    );
    diagnostics = new Map(compiled.map((s) => [s.file, []]));
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const owner = d.file ? compiled.find((s) => s.file === d.file!.fileName) : undefined;
      if (!owner || !d.file) continue;
      const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
      const markdownLine = owner.sample.line + line - owner.preludeLines;
      diagnostics
        .get(owner.file)!
        .push(
          `${owner.sample.markdown}:${markdownLine}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
        );
    }
    t = await freshInstance();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await t?.cleanup();
  });

  test('finds the samples, and every one is compiled or says why it is not code', () => {
    assert.ok(samples.length >= 6, `only ${samples.length} samples found`);
    for (const { sample } of samples) {
      if (sample.mode === 'not-code') assert.ok(sample.reason, `${sample.where}: say why it is not code`);
    }
    assert.ok(
      samples.some((s) => s.sample.mode === 'run'),
      'at least one sample runs',
    );
  });

  test('every sample typechecks against the real packages', () => {
    const failures = samples.flatMap((s) => diagnostics.get(s.file) ?? []);
    assert.deepEqual(failures, []);
  });

  test('the runnable samples load and materialize successfully', async () => {
    for (const { sample, file } of samples.filter((s) => s.sample.mode === 'run')) {
      const definitions = await loadDefinitionsFile(file);
      if (!definitions.assets.some((a) => a.partitions)) {
        const result = await materialize({ instance: t.instance, definitions, selection: '*' });
        assert.equal(result.status, 'SUCCESS', `${sample.where}: ${result.error ?? ''}`);
        assert.ok(result.steps.length > 0, `${sample.where} has no assets to run`);
        continue;
      }
      // Partitioned samples: each asset on its own, upstream first, every partition in order.
      let runs = 0;
      for (const key of definitions.graph.order) {
        const a = definitions.graph.get(key);
        if (a.external && !a.observe) continue;
        const keys = a.partitions
          ? partitionKeys(a.partitions, { now: new Date(), dynamicKeys: () => [] })
          : [undefined];
        for (const partition of keys) {
          const result = await materialize({
            instance: t.instance,
            definitions,
            selection: `key:"${key}"`,
            ...(partition !== undefined ? { partition } : {}),
          });
          assert.equal(
            result.status,
            'SUCCESS',
            `${sample.where} (${key} ${partition ?? ''}): ${result.error ?? result.steps.find((s) => s.error)?.error ?? ''}`,
          );
          runs++;
        }
      }
      assert.ok(runs > 0, `${sample.where} has no assets to run`);
    }
  });

  test('markers: a fragment gets its prelude, a block without a marker is a module', () => {
    const text = [
      'intro',
      '<!-- sample: prelude',
      "import { op } from '@dag/core';",
      '-->',
      '```ts',
      "op({ name: 'x' }, async () => 1);",
      '```',
      '```ts',
      'export const y = 1;',
      '```',
      '<!-- sample: not-code: pseudo-code of the API -->',
      '```typescript',
      'op(...)',
      '```',
    ].join('\n');
    const [fragment, module, notCode] = extractSamples('x.md', text);
    assert.equal(fragment?.mode, 'prelude');
    assert.equal(fragment?.prelude.trim(), "import { op } from '@dag/core';");
    assert.equal(fragment?.line, 6);
    assert.equal(module?.mode, 'module');
    assert.equal(module?.line, 9);
    assert.equal(notCode?.mode, 'not-code');
    assert.equal(notCode?.reason, 'pseudo-code of the API');
  });
});
