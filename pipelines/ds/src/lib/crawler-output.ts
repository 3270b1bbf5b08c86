/** One PNG the crawler saved to the source bucket (a `DS_SAVED` line). */
export interface SavedLogo {
  file: string;
  channel: string | null;
  bytes: number | null;
  brand: string | null;
}

/** The crawl's request counts, from the crawler's final `DS_STATS {json}` line. */
export interface CrawlStats {
  requestsTotal: number | null;
  requestsSucceeded: number | null;
  requestsFailed: number | null;
  /** Everything the line held, as the crawler wrote it. */
  raw: Record<string, unknown>;
}

/**
 * Splits `key=value key2=value2` into fields. A value is either a JSON string (`"a b"`) or
 * runs up to the next ` key=`; the last field takes the rest of the line, so a brand name
 * with spaces at the end of a line survives.
 */
export function parseFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const field = /(?:^|\s)([a-zA-Z_][\w-]*)=/g;
  const starts: { key: string; valueStart: number; matchStart: number }[] = [];
  for (let m = field.exec(text); m; m = field.exec(text)) {
    starts.push({ key: m[1] as string, valueStart: m.index + m[0].length, matchStart: m.index });
  }
  for (const [i, start] of starts.entries()) {
    const end = starts[i + 1]?.matchStart ?? text.length;
    let value = text.slice(start.valueStart, end).trim();
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        // Not JSON after all: keep it as written.
      }
    }
    out[start.key] = value;
  }
  return out;
}

/** The crawler URI-encodes brand names on its report lines (they may hold spaces). */
function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function firstNumber(raw: Record<string, unknown>, ...names: string[]): number | null {
  for (const name of names) {
    const value = raw[name];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return null;
}

/** Collects what the crawler reports while its log streams by. */
export class CrawlerOutput {
  readonly saved: SavedLogo[] = [];
  unchanged = 0;
  skipped = 0;
  stats: CrawlStats | undefined;

  /** Feeds one log line (ANSI codes already stripped). Returns true when the line was a report. */
  add(line: string): boolean {
    const match = /^\s*(DS_SAVED|DS_UNCHANGED|DS_SKIPPED|DS_STATS)\b\s?(.*)$/.exec(line);
    if (!match) return false;
    const [, kind, rest = ''] = match;
    if (kind === 'DS_SAVED') {
      const f = parseFields(rest);
      const bytes = Number(f.bytes);
      this.saved.push({
        file: f.file ?? f.key ?? rest,
        channel: f.channel ?? f.channelId ?? null,
        bytes: Number.isFinite(bytes) ? bytes : null,
        brand: f.brand === undefined ? null : decodeOrKeep(f.brand),
      });
    } else if (kind === 'DS_UNCHANGED') this.unchanged += 1;
    else if (kind === 'DS_SKIPPED') this.skipped += 1;
    else {
      try {
        const raw = JSON.parse(rest) as Record<string, unknown>;
        const requests = (typeof raw.requests === 'object' && raw.requests ? raw.requests : {}) as Record<
          string,
          unknown
        >;
        this.stats = {
          requestsTotal:
            firstNumber(raw, 'requestsTotal', 'requests_total') ?? firstNumber(requests, 'total'),
          requestsSucceeded:
            firstNumber(raw, 'requestsSucceeded', 'requestsFinished', 'requests_succeeded') ??
            firstNumber(requests, 'succeeded', 'finished'),
          requestsFailed:
            firstNumber(raw, 'requestsFailed', 'requests_failed') ?? firstNumber(requests, 'failed'),
          raw,
        };
      } catch {
        return false;
      }
    }
    return true;
  }
}
