/** Metadata formatting and the safe Markdown parser (pure: no browser needed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageUrl } from '../src/api/client.ts';
import { formatBytes, formatDuration, formatNumber, formatRelative } from '../src/lib/format.ts';
import { inlineText, parseInline, parseMarkdown } from '../src/lib/markdown.ts';
import {
  baseName,
  cellText,
  formatMetadataInline,
  isImagePath,
  isNumericColumn,
  isSafeImageSrc,
  metadataEntries,
  prettyJson,
  safeHref,
  toMetadataValue,
} from '../src/lib/metadata.ts';

describe('metadata values', () => {
  it('accepts every md.* shape as stored', () => {
    const record = {
      n: { type: 'int', value: 1234567 },
      f: { type: 'float', value: 0.12345 },
      b: { type: 'bool', value: false },
      t: { type: 'text', value: '무신사 스탠다드' },
      m: { type: 'markdown', value: '## 요약\n\nbody' },
      u: { type: 'url', value: 'https://example.com' },
      p: { type: 'path', value: '/data/a.png' },
      j: { type: 'json', value: { a: [1, 2] } },
      d: { type: 'duration', ms: 83_500 },
      tb: {
        type: 'table',
        columns: ['file', 'bytes'],
        rows: [
          ['a.png', 10],
          ['b.png', null],
        ],
      },
      im: { type: 'images', images: [{ src: '/x/a.webp', alt: 'a' }, 'https://cdn/b.png'] },
      z: { type: 'null' },
    };
    const entries = metadataEntries(record);
    assert.deepEqual(
      entries.map(([k, v]) => [k, formatMetadataInline(v)]),
      [
        ['n', '1,234,567'],
        ['f', '0.1235'],
        ['b', 'false'],
        ['t', '무신사 스탠다드'],
        ['m', '요약'],
        ['u', 'https://example.com'],
        ['p', '/data/a.png'],
        ['j', '{"a":[1,2]}'],
        ['d', '1m24s'],
        ['tb', 'table: 2 rows × 2 columns'],
        ['im', '2 images'],
        ['z', '-'],
      ],
    );
    const images = toMetadataValue(record.im);
    assert.deepEqual(images, {
      type: 'images',
      images: [{ src: '/x/a.webp', alt: 'a' }, { src: 'https://cdn/b.png' }],
    });
  });

  it('turns anything unexpected into JSON instead of throwing', () => {
    assert.deepEqual(toMetadataValue({ type: 'int', value: 'x' }), {
      type: 'json',
      value: { type: 'int', value: 'x' },
    });
    assert.deepEqual(toMetadataValue({ type: 'mystery', value: 1 }), {
      type: 'json',
      value: { type: 'mystery', value: 1 },
    });
    assert.deepEqual(toMetadataValue(3), { type: 'int', value: 3 });
    assert.deepEqual(toMetadataValue('hi'), { type: 'text', value: 'hi' });
    assert.deepEqual(toMetadataValue(null), { type: 'null' });
    assert.deepEqual(metadataEntries(null), []);
    assert.deepEqual(metadataEntries([1, 2]), []);
    // Images given as `value` with `path` items are read too.
    assert.deepEqual(toMetadataValue({ type: 'images', value: [{ path: '/a.webp' }, { nope: 1 }] }), {
      type: 'images',
      images: [{ src: '/a.webp' }],
    });
  });

  it('formats table cells and spots numeric columns', () => {
    assert.equal(cellText(null), '');
    assert.equal(cellText(12345), '12,345');
    assert.equal(cellText(true), 'true');
    assert.equal(cellText({ a: 1 }), '{"a":1}');
    assert.ok(isNumericColumn([[1], [null], [3]], 0));
    assert.ok(!isNumericColumn([[1], ['x']], 0));
    assert.ok(!isNumericColumn([[null]], 0));
  });

  it('pretty-prints JSON, also JSON held in a string', () => {
    assert.equal(prettyJson({ a: 1 }), '{\n  "a": 1\n}');
    assert.equal(prettyJson('{"a":1}'), '{\n  "a": 1\n}');
    assert.equal(prettyJson('not json'), '"not json"');
  });

  it('only links to http(s) and mailto, and only shows safe images', () => {
    assert.equal(safeHref('https://example.com/a?b=1'), 'https://example.com/a?b=1');
    assert.equal(safeHref('mailto:a@b.c'), 'mailto:a@b.c');
    assert.equal(safeHref('/relative/path'), '/relative/path');
    assert.equal(safeHref('javascript:alert(1)'), null);
    assert.equal(safeHref(' JaVaScRiPt:alert(1)'), null);
    assert.equal(safeHref('java\tscript:alert(1)'), null);
    assert.equal(safeHref('data:text/html,<script>'), null);
    assert.equal(safeHref('vbscript:x'), null);
    assert.ok(isSafeImageSrc('https://cdn.example.com/logo.png'));
    assert.ok(isSafeImageSrc('data:image/png;base64,AAAA'));
    assert.ok(!isSafeImageSrc('data:image/svg+xml;base64,AAAA'));
    assert.ok(!isSafeImageSrc('javascript:alert(1)'));
    assert.ok(isSafeImageSrc('/data/images/ds/final/1.webp'));
    assert.ok(!isSafeImageSrc('//evil.example/x.png'));
  });

  it('serves local image paths through /api/files and leaves URLs alone', () => {
    assert.equal(
      imageUrl('/data/images/ds/final/브랜드 1.webp'),
      '/api/files?path=%2Fdata%2Fimages%2Fds%2Ffinal%2F%EB%B8%8C%EB%9E%9C%EB%93%9C+1.webp',
    );
    assert.equal(imageUrl('file:///tmp/a%20b.png'), '/api/files?path=%2Ftmp%2Fa+b.png');
    assert.equal(imageUrl('https://x/y.png'), 'https://x/y.png');
    assert.equal(imageUrl('data:image/png;base64,AA'), 'data:image/png;base64,AA');
    assert.ok(isImagePath('/a/b/c.WEBP'));
    assert.ok(!isImagePath('relative/c.png'));
    assert.equal(baseName('/a/b/c.webp?x=1'), 'c.webp');
  });

  it('formats numbers, bytes, durations and relative times', () => {
    assert.equal(formatNumber(1234567), '1,234,567');
    assert.equal(formatNumber(2.71234), '2.712');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(12), '12 B');
    assert.equal(formatDuration(950), '950ms');
    assert.equal(formatDuration(12_340), '12.3s');
    assert.equal(formatDuration(3_725_000), '1h02m');
    const now = Date.parse('2026-11-22T12:00:00Z');
    assert.equal(formatRelative('2026-11-22T11:59:50Z', now), 'just now');
    assert.equal(formatRelative('2026-11-22T11:55:00Z', now), '5 min ago');
    assert.equal(formatRelative('2026-11-22T09:00:00Z', now), '3 h ago');
    assert.equal(formatRelative('2026-11-23T12:00:00Z', now), 'in 1 d');
    assert.equal(formatRelative(null, now), '-');
  });
});

describe('markdown', () => {
  it('parses headings, paragraphs, lists, code, quotes, rules and tables', () => {
    const blocks = parseMarkdown(
      [
        '# 요약',
        '',
        'First line',
        'continues **bold** and _em_ and `code`.',
        '',
        '- 무신사',
        '- 올리브영',
        '  nested text',
        '',
        '1. one',
        '2. two',
        '',
        '```ts',
        'const x = 1 < 2;',
        '```',
        '',
        '> quoted',
        '',
        '---',
        '',
        '| brand | n |',
        '|:---|---:|',
        '| 29CM | 9 |',
      ].join('\n'),
    );
    assert.deepEqual(
      blocks.map((b) => b.type),
      ['heading', 'paragraph', 'list', 'list', 'code', 'quote', 'hr', 'table'],
    );
    const p = blocks[1]!;
    assert.equal(
      p.type === 'paragraph' && inlineText(p.children),
      'First line continues bold and em and code.',
    );
    const list = blocks[2]!;
    assert.ok(list.type === 'list' && !list.ordered && list.items.length === 2);
    const ordered = blocks[3]!;
    assert.ok(ordered.type === 'list' && ordered.ordered && ordered.start === 1);
    const code = blocks[4]!;
    assert.deepEqual(code, { type: 'code', lang: 'ts', text: 'const x = 1 < 2;' });
    const table = blocks[7]!;
    assert.ok(table.type === 'table');
    assert.deepEqual(table.align, ['left', 'right']);
    assert.equal(inlineText(table.rows[0]![0]!), '29CM');
  });

  it('keeps raw HTML as text and links as data (the view decides what is safe)', () => {
    const nodes = parseInline(
      '<script>alert(1)</script> [x](javascript:alert(1)) ![i](https://a/b.png) <https://ok.example>',
    );
    assert.equal(nodes[0]!.type, 'text');
    assert.ok(inlineText(nodes).includes('<script>alert(1)</script>'));
    const link = nodes.find((n) => n.type === 'link' && n.href.startsWith('javascript'));
    assert.ok(link, 'the link is parsed; safeHref refuses it when rendering');
    assert.ok(nodes.some((n) => n.type === 'image' && n.src === 'https://a/b.png'));
    assert.ok(nodes.some((n) => n.type === 'link' && n.href === 'https://ok.example'));
  });

  it('does not treat snake_case as emphasis and honours escapes', () => {
    assert.deepEqual(parseInline('ds_img_r2_node and ds_png2webp'), [
      { type: 'text', text: 'ds_img_r2_node and ds_png2webp' },
    ]);
    assert.deepEqual(parseInline('\\*not em\\*'), [{ type: 'text', text: '*not em*' }]);
    assert.deepEqual(parseInline('**a** *b*'), [
      { type: 'strong', children: [{ type: 'text', text: 'a' }] },
      { type: 'text', text: ' ' },
      { type: 'em', children: [{ type: 'text', text: 'b' }] },
    ]);
    const bare = parseInline('see https://example.com/x.');
    assert.ok(bare.some((n) => n.type === 'link' && n.href === 'https://example.com/x'));
  });

  it('never loops or throws on odd input', () => {
    for (const source of [
      '',
      '*',
      '**',
      '[',
      '](',
      '`',
      '```',
      '| a |\n|---|',
      '> > >',
      '-',
      '1.',
      '~~',
      '\\',
    ]) {
      parseMarkdown(source);
    }
    const deep = `${'> '.repeat(50)}x`;
    assert.ok(parseMarkdown(deep).length >= 1);
  });
});
