/**
 * A small Markdown parser for metadata and descriptions. It returns a tree, never HTML: the
 * view turns the tree into React elements, so text is always escaped, raw HTML in the source
 * shows as text, and links and images pass `safeHref` / `isSafeImageSrc` or become text.
 *
 * Covers what metadata reports use: headings, paragraphs, emphasis, strong, inline code,
 * fenced code, links, autolinks, images, bullet and numbered lists (with one nested level),
 * block quotes, rules and GFM tables.
 */

export type Inline =
  | { type: 'text'; text: string }
  | { type: 'code'; text: string }
  | { type: 'strong'; children: Inline[] }
  | { type: 'em'; children: Inline[] }
  | { type: 'del'; children: Inline[] }
  | { type: 'link'; href: string; children: Inline[] }
  | { type: 'image'; src: string; alt: string }
  | { type: 'break' };

export type Align = 'left' | 'center' | 'right' | null;

export type Block =
  | { type: 'heading'; level: number; children: Inline[] }
  | { type: 'paragraph'; children: Inline[] }
  | { type: 'code'; lang: string; text: string }
  | { type: 'list'; ordered: boolean; start: number; items: Block[][] }
  | { type: 'quote'; children: Block[] }
  | { type: 'hr' }
  | { type: 'table'; align: Align[]; header: Inline[][]; rows: Inline[][][] };

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
const HR = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const BULLET = /^( {0,3})([-*+])\s+(.*)$/;
const ORDERED = /^( {0,3})(\d{1,9})[.)]\s+(.*)$/;
const TABLE_SEP = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells: string[] = [];
  let current = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && s[i + 1] === '|') {
      current += '|';
      i += 1;
    } else if (c === '|') {
      cells.push(current.trim());
      current = '';
    } else current += c;
  }
  cells.push(current.trim());
  return cells;
}

function isBlockStart(line: string): boolean {
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    HR.test(line) ||
    QUOTE.test(line) ||
    BULLET.test(line) ||
    ORDERED.test(line)
  );
}

/** Parses Markdown into blocks. */
export function parseMarkdown(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n');
  return parseBlocks(lines, 0);
}

function parseBlocks(lines: string[], depth: number): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (!line.trim()) {
      i += 1;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1]!;
      const body: string[] = [];
      i += 1;
      while (i < lines.length && !lines[i]!.trim().startsWith(marker)) body.push(lines[i++]!);
      i += 1; // closing fence (or end of input)
      blocks.push({ type: 'code', lang: fence[2] ?? '', text: body.join('\n') });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ type: 'heading', level: heading[1]!.length, children: parseInline(heading[2] ?? '') });
      i += 1;
      continue;
    }
    if (HR.test(line)) {
      blocks.push({ type: 'hr' });
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && lines[i]!.trim()) {
        const m = QUOTE.exec(lines[i]!);
        body.push(m ? m[1]! : lines[i]!);
        i += 1;
      }
      blocks.push({ type: 'quote', children: depth < 8 ? parseBlocks(body, depth + 1) : [] });
      continue;
    }
    const bullet = BULLET.exec(line);
    const ordered = bullet ? null : ORDERED.exec(line);
    if (bullet || ordered) {
      const isOrdered = Boolean(ordered);
      const itemRe = isOrdered ? ORDERED : BULLET;
      const items: string[][] = [];
      while (i < lines.length) {
        const current = lines[i]!;
        const m = itemRe.exec(current);
        if (m && m[1]!.length <= 1) {
          items.push([m[3]!]);
          i += 1;
          continue;
        }
        if (!current.trim()) {
          // A blank line ends the list unless the next line continues it (indented or another item).
          const next = lines[i + 1];
          if (next !== undefined && (itemRe.test(next) || /^ {2,}\S/.test(next))) {
            i += 1;
            continue;
          }
          break;
        }
        if (/^ {2,}\S/.test(current) && items.length > 0) {
          items[items.length - 1]!.push(current.replace(/^ {2,4}/, ''));
          i += 1;
          continue;
        }
        if (isBlockStart(current) || items.length === 0) break;
        // A lazy continuation line of the last item.
        items[items.length - 1]!.push(current);
        i += 1;
      }
      blocks.push({
        type: 'list',
        ordered: isOrdered,
        start: ordered ? Number(ordered[2]) : 1,
        items: items.map((item) => (depth < 8 ? parseBlocks(item, depth + 1) : [])),
      });
      continue;
    }
    // Table: a header row followed by a separator row.
    if (
      line.includes('|') &&
      i + 1 < lines.length &&
      TABLE_SEP.test(lines[i + 1]!) &&
      lines[i + 1]!.includes('-')
    ) {
      const header = splitRow(line);
      const align: Align[] = splitRow(lines[i + 1]!).map((c) => {
        const left = c.startsWith(':');
        const right = c.endsWith(':');
        return left && right ? 'center' : right ? 'right' : left ? 'left' : null;
      });
      i += 2;
      const rows: Inline[][][] = [];
      while (i < lines.length && lines[i]!.trim() && lines[i]!.includes('|')) {
        const cells = splitRow(lines[i]!);
        rows.push(header.map((_, c) => parseInline(cells[c] ?? '')));
        i += 1;
      }
      blocks.push({
        type: 'table',
        align: header.map((_, c) => align[c] ?? null),
        header: header.map(parseInline),
        rows,
      });
      continue;
    }
    // Paragraph: until a blank line or the start of another block.
    const body: string[] = [line.trim()];
    i += 1;
    while (i < lines.length && lines[i]!.trim() && !isBlockStart(lines[i]!)) {
      // A setext heading underline turns the paragraph into a heading.
      if (/^ {0,3}(=+|-+)\s*$/.test(lines[i]!)) break;
      body.push(lines[i]!.trim());
      i += 1;
    }
    const setext = i < lines.length ? /^ {0,3}(=+|-+)\s*$/.exec(lines[i]!) : null;
    if (setext) {
      blocks.push({
        type: 'heading',
        level: setext[1]!.startsWith('=') ? 1 : 2,
        children: parseInline(body.join(' ')),
      });
      i += 1;
      continue;
    }
    blocks.push({ type: 'paragraph', children: parseInlineLines(body) });
  }
  return blocks;
}

function parseInlineLines(lines: string[]): Inline[] {
  const out: Inline[] = [];
  lines.forEach((line, index) => {
    if (index > 0) out.push(/\\$/.test(lines[index - 1]!) ? { type: 'break' } : { type: 'text', text: ' ' });
    out.push(...parseInline(line.replace(/\\$/, '')));
  });
  return mergeText(out);
}

function mergeText(nodes: Inline[]): Inline[] {
  const out: Inline[] = [];
  for (const node of nodes) {
    const last = out[out.length - 1];
    if (node.type === 'text' && last?.type === 'text') last.text += node.text;
    else out.push(node);
  }
  return out;
}

const ESCAPABLE = /[\\`*_{}[\]()#+\-.!|<>~]/;

/** Finds the closing `]` of a link text that starts at `start` (just after `[`), or -1. */
function closingBracket(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i += 1;
    else if (c === '[') depth += 1;
    else if (c === ']') {
      if (depth === 0) return i;
      depth -= 1;
    }
  }
  return -1;
}

/** `(url "title")` right after a link text; returns the url and where it ends. */
function linkTarget(text: string, start: number): { url: string; end: number } | null {
  if (text[start] !== '(') return null;
  let depth = 0;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i += 1;
    else if (c === '(') depth += 1;
    else if (c === ')') {
      if (depth === 0) {
        let inner = text.slice(start + 1, i).trim();
        const titled = /^(\S+)\s+["'(].*["')]$/.exec(inner);
        if (titled) inner = titled[1]!;
        if (inner.startsWith('<') && inner.endsWith('>')) inner = inner.slice(1, -1);
        return { url: inner, end: i + 1 };
      }
      depth -= 1;
    }
  }
  return null;
}

/** Parses inline Markdown (one line or a joined paragraph). */
export function parseInline(text: string, depth = 0): Inline[] {
  const out: Inline[] = [];
  let buffer = '';
  const flush = () => {
    if (buffer) out.push({ type: 'text', text: buffer });
    buffer = '';
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length && ESCAPABLE.test(text[i + 1]!)) {
      buffer += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      let ticks = 1;
      while (text[i + ticks] === '`') ticks += 1;
      const fence = '`'.repeat(ticks);
      const end = text.indexOf(fence, i + ticks);
      if (end !== -1) {
        flush();
        out.push({ type: 'code', text: text.slice(i + ticks, end).replace(/^ (.*) $/, '$1') });
        i = end + ticks;
        continue;
      }
      buffer += fence;
      i += ticks;
      continue;
    }
    if ((c === '!' && text[i + 1] === '[') || c === '[') {
      const image = c === '!';
      const open = image ? i + 1 : i;
      const close = closingBracket(text, open + 1);
      const target = close === -1 ? null : linkTarget(text, close + 1);
      if (target) {
        flush();
        const label = text.slice(open + 1, close);
        if (image) out.push({ type: 'image', src: target.url, alt: label });
        else
          out.push({
            type: 'link',
            href: target.url,
            children: depth < 6 ? parseInline(label, depth + 1) : [],
          });
        i = target.end;
        continue;
      }
    }
    if (c === '<') {
      const m = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(text.slice(i));
      if (m) {
        flush();
        out.push({
          type: 'link',
          href: m[1]!,
          children: [{ type: 'text', text: m[1]!.replace(/^mailto:/i, '') }],
        });
        i += m[0].length;
        continue;
      }
    }
    if (
      (c === 'h' || c === 'H') &&
      /^https?:\/\//i.test(text.slice(i, i + 8)) &&
      !/\w/.test(text[i - 1] ?? '')
    ) {
      const m = /^https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/i.exec(text.slice(i));
      if (m) {
        flush();
        out.push({ type: 'link', href: m[0], children: [{ type: 'text', text: m[0] }] });
        i += m[0].length;
        continue;
      }
    }
    if (c === '~' && text[i + 1] === '~') {
      const end = text.indexOf('~~', i + 2);
      if (end > i + 2) {
        flush();
        out.push({ type: 'del', children: depth < 6 ? parseInline(text.slice(i + 2, end), depth + 1) : [] });
        i = end + 2;
        continue;
      }
    }
    if (c === '*' || c === '_') {
      const double = text[i + 1] === c;
      const marker = double ? c + c : c;
      const prev = text[i - 1] ?? ' ';
      const next = text[i + marker.length] ?? ' ';
      // `_` inside a word (snake_case) is not emphasis; the opener must be followed by a non-space.
      const canOpen = next.trim() !== '' && !(c === '_' && /\w/.test(prev));
      if (canOpen) {
        let end = text.indexOf(marker, i + marker.length);
        while (end !== -1) {
          const before = text[end - 1] ?? ' ';
          const after = text[end + marker.length] ?? ' ';
          const ok =
            before.trim() !== '' &&
            !(c === '_' && /\w/.test(after)) &&
            // `**a*` must not close `*` on the first star of `**`.
            (double || text[end + 1] !== c || text[end - 1] === c);
          if (ok && end > i + marker.length) break;
          end = text.indexOf(marker, end + 1);
        }
        if (end !== -1) {
          flush();
          const inner = depth < 6 ? parseInline(text.slice(i + marker.length, end), depth + 1) : [];
          out.push(double ? { type: 'strong', children: inner } : { type: 'em', children: inner });
          i = end + marker.length;
          continue;
        }
      }
      buffer += marker;
      i += marker.length;
      continue;
    }
    buffer += c;
    i += 1;
  }
  flush();
  return mergeText(out);
}

/** Plain text of inline nodes (for alt texts and titles). */
export function inlineText(nodes: Inline[]): string {
  return nodes
    .map((n) => {
      switch (n.type) {
        case 'text':
        case 'code':
          return n.text;
        case 'image':
          return n.alt;
        case 'break':
          return '\n';
        default:
          return inlineText(n.children);
      }
    })
    .join('');
}
