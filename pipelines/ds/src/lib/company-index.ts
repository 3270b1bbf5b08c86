import type pg from 'pg';
import { normalizeBrandName } from './normalize-brand-name.ts';

/** How a logo found its companies. */
export type MatchRule = 'channel_id' | 'name';

/**
 * The `company` rows a logo can match, loaded once per finalize:
 * - by `naver_channel_id` = the logo's channel id, when the table has that column;
 * - otherwise by normalised name (NFC, trimmed, whitespace collapsed, case-folded) = the brand,
 *   among companies that have no channel id (a company with a channel id only takes its own
 *   channel's logo, never a namesake's).
 */
export class CompanyIndex {
  private constructor(
    readonly hasChannelColumn: boolean,
    readonly hasUpdatedAt: boolean,
    /** The SQL type of `company.id`, so updates compare ids without casting the column. */
    readonly idType: string,
    private readonly byChannel: Map<string, string[]>,
    private readonly byName: Map<string, string[]>,
    /** Each company's `thumbnail` as loaded, so an update that would change nothing is not sent. */
    private readonly thumbnails: Map<string, string | null>,
  ) {}

  static async load(db: pg.ClientBase): Promise<CompanyIndex> {
    const columns = await db.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'company'`,
    );
    const names = new Set(columns.rows.map((r) => r.column_name));
    for (const required of ['id', 'name', 'thumbnail']) {
      if (!names.has(required)) {
        throw new Error(
          `The company table has no '${required}' column; ds_img_finalize needs id, name and thumbnail (naver_channel_id and updated_at are optional).`,
        );
      }
    }
    const hasChannelColumn = names.has('naver_channel_id');
    const idType = await db.query<{ type: string }>(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'company'::regclass AND attname = 'id'`,
    );
    const rows = await db.query<{
      id: string;
      name: string | null;
      channel: string | null;
      thumbnail: string | null;
    }>(
      `SELECT id::text AS id, name, ${hasChannelColumn ? 'naver_channel_id::text' : 'NULL::text'} AS channel, thumbnail::text AS thumbnail FROM company`,
    );
    const byChannel = new Map<string, string[]>();
    const byName = new Map<string, string[]>();
    const thumbnails = new Map<string, string | null>();
    const add = (map: Map<string, string[]>, key: string, id: string) => {
      const list = map.get(key);
      if (list) list.push(id);
      else map.set(key, [id]);
    };
    for (const row of rows.rows) {
      thumbnails.set(row.id, row.thumbnail);
      const channel = row.channel?.trim();
      if (channel) add(byChannel, channel, row.id);
      else if (row.name) add(byName, normalizeBrandName(row.name), row.id);
    }
    return new CompanyIndex(
      hasChannelColumn,
      names.has('updated_at'),
      idType.rows[0]?.type ?? 'text',
      byChannel,
      byName,
      thumbnails,
    );
  }

  /** The company's thumbnail when the index was loaded; undefined for an id it does not know. */
  thumbnailOf(id: string): string | null | undefined {
    return this.thumbnails.get(id);
  }

  /** Whether a company outside `keep` held one of `urls` as its thumbnail when the index was loaded. */
  holdsAny(urls: ReadonlySet<string>, keep: ReadonlyMap<string, unknown>): boolean {
    for (const [id, url] of this.thumbnails) if (url !== null && urls.has(url) && !keep.has(id)) return true;
    return false;
  }

  match(channelId: string | null, brand: string | null): { ids: string[]; rule: MatchRule } | undefined {
    if (channelId) {
      const ids = this.byChannel.get(channelId.trim());
      if (ids) return { ids, rule: 'channel_id' };
    }
    if (brand) {
      const ids = this.byName.get(normalizeBrandName(brand));
      if (ids) return { ids, rule: 'name' };
    }
    return undefined;
  }
}

/**
 * Sets `thumbnail` for many companies in one transaction, 1000 per statement. Rows that
 * already hold the URL are left alone (their `updated_at` does not move), so a re-run changes
 * nothing. In the same transaction, companies not in `thumbnails` whose thumbnail is one of
 * `clear` (URLs of logos that are not in the bucket) get none. Resolves to the number of rows changed.
 */
export async function updateThumbnails(
  pool: pg.Pool,
  index: CompanyIndex,
  thumbnails: ReadonlyMap<string, string>,
  clear: readonly string[] = [],
): Promise<number> {
  // What the index says is already right is not sent (a re-run over an unchanged destination
  // opens no transaction); the statements keep their own guards against changes made since.
  const entries = [...thumbnails].filter(([id, url]) => index.thumbnailOf(id) !== url);
  if (clear.length > 0 && !index.holdsAny(new Set(clear), thumbnails)) clear = [];
  if (entries.length === 0 && clear.length === 0) return 0;
  const client = await pool.connect();
  let changed = 0;
  try {
    await client.query('BEGIN');
    if (clear.length > 0) {
      const result = await client.query(
        `UPDATE company SET thumbnail = NULL${index.hasUpdatedAt ? ', updated_at = now()' : ''}
          WHERE thumbnail = ANY($1::text[]) AND NOT (id::text = ANY($2::text[]))`,
        [clear, [...thumbnails.keys()]],
      );
      changed += result.rowCount ?? 0;
    }
    for (let start = 0; start < entries.length; start += 1000) {
      const batch = entries.slice(start, start + 1000);
      const result = await client.query(
        `UPDATE company AS c SET thumbnail = v.url${index.hasUpdatedAt ? ', updated_at = now()' : ''}
           FROM unnest($1::text[], $2::text[]) AS v(id, url)
          WHERE c.id = v.id::${index.idType} AND c.thumbnail IS DISTINCT FROM v.url`,
        [batch.map(([id]) => id), batch.map(([, url]) => url)],
      );
      changed += result.rowCount ?? 0;
    }
    await client.query('COMMIT');
    return changed;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
