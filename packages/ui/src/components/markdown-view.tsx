import { type ReactNode, useMemo } from 'react';
import { imageUrl } from '../api/client.ts';
import { type Block, type Inline, parseMarkdown } from '../lib/markdown.ts';
import { isSafeImageSrc, safeHref } from '../lib/metadata.ts';

function renderInline(nodes: Inline[], keyPrefix = ''): ReactNode[] {
  return nodes.map((node, i) => {
    const key = `${keyPrefix}${i}`;
    switch (node.type) {
      case 'text':
        return node.text;
      case 'code':
        return <code key={key}>{node.text}</code>;
      case 'strong':
        return <strong key={key}>{renderInline(node.children, `${key}.`)}</strong>;
      case 'em':
        return <em key={key}>{renderInline(node.children, `${key}.`)}</em>;
      case 'del':
        return <del key={key}>{renderInline(node.children, `${key}.`)}</del>;
      case 'break':
        return <br key={key} />;
      case 'link': {
        const href = safeHref(node.href);
        if (!href) return <span key={key}>{renderInline(node.children, `${key}.`)}</span>;
        return (
          <a key={key} href={href} target="_blank" rel="noopener noreferrer nofollow">
            {renderInline(node.children, `${key}.`)}
          </a>
        );
      }
      case 'image':
        if (!isSafeImageSrc(node.src)) return <span key={key}>{node.alt}</span>;
        return <img key={key} src={imageUrl(node.src)} alt={node.alt} loading="lazy" />;
    }
    return null;
  });
}

function renderBlocks(blocks: Block[], keyPrefix = ''): ReactNode[] {
  return blocks.map((block, i) => {
    const key = `${keyPrefix}${i}`;
    switch (block.type) {
      case 'heading': {
        const children = renderInline(block.children);
        // Headings inside metadata stay modest: h1 → h3 ... h6.
        const level = Math.min(6, block.level + 2);
        if (level === 3) return <h3 key={key}>{children}</h3>;
        if (level === 4) return <h4 key={key}>{children}</h4>;
        if (level === 5) return <h5 key={key}>{children}</h5>;
        return <h6 key={key}>{children}</h6>;
      }
      case 'paragraph':
        return <p key={key}>{renderInline(block.children)}</p>;
      case 'code':
        return (
          <pre key={key}>
            <code>{block.text}</code>
          </pre>
        );
      case 'hr':
        return <hr key={key} />;
      case 'quote':
        return <blockquote key={key}>{renderBlocks(block.children, `${key}.`)}</blockquote>;
      case 'list': {
        const items = block.items.map((item, j) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: list items have no identity beyond their position
          <li key={j}>{renderListItem(item, `${key}.${j}.`)}</li>
        ));
        return block.ordered ? (
          <ol key={key} start={block.start}>
            {items}
          </ol>
        ) : (
          <ul key={key}>{items}</ul>
        );
      }
      case 'table':
        return (
          <div className="table-wrap" key={key}>
            <table>
              <thead>
                <tr>
                  {block.header.map((cell, c) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: columns are positional
                    <th key={c} style={block.align[c] ? { textAlign: block.align[c] } : undefined}>
                      {renderInline(cell)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {block.rows.map((row, r) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional
                  <tr key={r}>
                    {row.map((cell, c) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: columns are positional
                      <td key={c} style={block.align[c] ? { textAlign: block.align[c] } : undefined}>
                        {renderInline(cell)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
    }
    return null;
  });
}

/** A list item that is one paragraph renders without the <p> (tight lists). */
function renderListItem(blocks: Block[], keyPrefix: string): ReactNode {
  if (blocks.length === 1 && blocks[0]!.type === 'paragraph') return renderInline(blocks[0]!.children);
  return renderBlocks(blocks, keyPrefix);
}

/** Markdown rendered as React elements (text always escaped; unsafe links shown as text). */
export function MarkdownView({ source }: { source: string }) {
  const blocks = useMemo(() => parseMarkdown(source), [source]);
  return <div className="markdown">{renderBlocks(blocks)}</div>;
}
