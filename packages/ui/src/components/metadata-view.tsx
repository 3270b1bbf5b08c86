import { useState } from 'react';
import { imageUrl } from '../api/client.ts';
import type { MetadataValue } from '../api/types.ts';
import { formatDuration, formatNumber } from '../lib/format.ts';
import {
  baseName,
  cellText,
  isImagePath,
  isNumericColumn,
  isSafeImageSrc,
  metadataEntries,
  prettyJson,
  safeHref,
} from '../lib/metadata.ts';
import { MarkdownView } from './markdown-view.tsx';

const TABLE_PAGE = 100;
const IMAGES_PAGE = 48;

function TableValue({ columns, rows }: { columns: string[]; rows: unknown[][] }) {
  const [all, setAll] = useState(false);
  const shown = all ? rows : rows.slice(0, TABLE_PAGE);
  const numeric = columns.map((_, c) => isNumericColumn(rows, c));
  return (
    <div className="stack" style={{ gap: 4 }}>
      <div className="md-table">
        <table className="data compact">
          <thead>
            <tr>
              {columns.map((c, i) => (
                <th key={c} className={numeric[i] ? 'num' : undefined}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((row, r) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional
              <tr key={r}>
                {columns.map((c, i) => (
                  <td key={c} className={numeric[i] ? 'num' : undefined}>
                    {cellText(row[i])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <span className="muted small">
        {formatNumber(rows.length)} row{rows.length === 1 ? '' : 's'}
        {rows.length > TABLE_PAGE && (
          <>
            {' · '}
            <button type="button" className="link" onClick={() => setAll(!all)}>
              {all ? `show first ${TABLE_PAGE}` : 'show all'}
            </button>
          </>
        )}
      </span>
    </div>
  );
}

/** One thumbnail; a file that no longer exists (moved by a later step) shows as a placeholder. */
function Thumb({ src, name }: { src: string; name: string }) {
  const [missing, setMissing] = useState(false);
  const url = imageUrl(src);
  if (missing) {
    return (
      <span className="thumb" title={`Could not load ${src}: moved or deleted since it was recorded?`}>
        <span className="thumb-missing">not found</span>
        <span>{name}</span>
      </span>
    );
  }
  return (
    <a className="thumb" href={url} target="_blank" rel="noopener noreferrer" title={src}>
      <img src={url} alt={name} loading="lazy" decoding="async" onError={() => setMissing(true)} />
      <span>{name}</span>
    </a>
  );
}

function ImagesValue({ images }: { images: { src: string; alt?: string }[] }) {
  const [all, setAll] = useState(false);
  const shown = all ? images : images.slice(0, IMAGES_PAGE);
  return (
    <div className="stack" style={{ gap: 4 }}>
      <div className="thumbs">
        {shown.map((image, i) => {
          const name = image.alt || baseName(image.src);
          if (!isSafeImageSrc(image.src)) {
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: the same image may appear twice
              <span className="thumb" key={i} title={image.src}>
                <span>{name}</span>
              </span>
            );
          }
          // biome-ignore lint/suspicious/noArrayIndexKey: the same image may appear twice
          return <Thumb key={i} src={image.src} name={name} />;
        })}
      </div>
      {images.length > IMAGES_PAGE && (
        <button type="button" className="link small" onClick={() => setAll(!all)}>
          {all ? `show first ${IMAGES_PAGE}` : `show all ${images.length}`}
        </button>
      )}
    </div>
  );
}

function TextValue({ text }: { text: string }) {
  const [open, setOpen] = useState(false);
  const long = text.length > 600 || text.split('\n').length > 12;
  if (!long) return <span style={{ whiteSpace: 'pre-wrap' }}>{text}</span>;
  return (
    <div className="stack" style={{ gap: 4 }}>
      <pre className="json-block" style={{ whiteSpace: 'pre-wrap', maxHeight: open ? 'none' : 160 }}>
        {text}
      </pre>
      <button type="button" className="link small" onClick={() => setOpen(!open)}>
        {open ? 'collapse' : 'expand'}
      </button>
    </div>
  );
}

export function MetadataValueView({ value }: { value: MetadataValue }) {
  switch (value.type) {
    case 'int':
    case 'float':
      return (
        <span className="mono" title={String(value.value)}>
          {formatNumber(value.value)}
        </span>
      );
    case 'bool':
      return <span className={`badge ${value.value ? 'ok' : 'fail'}`}>{value.value ? 'true' : 'false'}</span>;
    case 'text':
      return <TextValue text={value.value} />;
    case 'markdown':
      return <MarkdownView source={value.value} />;
    case 'url': {
      const href = safeHref(value.value);
      return href ? (
        <a href={href} target="_blank" rel="noopener noreferrer nofollow" className="mono">
          {value.value}
        </a>
      ) : (
        <span className="mono">{value.value}</span>
      );
    }
    case 'path':
      return (
        <span className="stack" style={{ gap: 4 }}>
          <span className="mono">{value.value}</span>
          {isImagePath(value.value) && <ImagesValue images={[{ src: value.value }]} />}
        </span>
      );
    case 'json':
      return <pre className="json-block">{prettyJson(value.value)}</pre>;
    case 'duration':
      return (
        <span className="mono" title={`${value.ms} ms`}>
          {formatDuration(value.ms)}
        </span>
      );
    case 'table':
      return <TableValue columns={value.columns} rows={value.rows} />;
    case 'images':
      return value.images.length ? (
        <ImagesValue images={value.images} />
      ) : (
        <span className="muted">no images</span>
      );
    case 'null':
      return <span className="muted">-</span>;
  }
}

/** A metadata record (as the API sent it) as label / value rows. */
export function MetadataView({ metadata }: { metadata: unknown }) {
  const entries = metadataEntries(metadata);
  if (entries.length === 0) return <span className="muted">No metadata.</span>;
  return (
    <div className="metadata">
      {entries.map(([label, value]) => (
        <div key={label} style={{ display: 'contents' }}>
          <div className="md-label">{label}</div>
          <div className="md-value" data-md-type={value.type}>
            <MetadataValueView value={value} />
          </div>
        </div>
      ))}
    </div>
  );
}
