/**
 * Reads the channel id and brand name the crawler stored as object metadata. S3 metadata is
 * printable ASCII only, so the crawler URI-encodes the brand; a value that is not valid
 * percent-encoding is taken as it is.
 */
export function readLogoMetadata(metadata: Record<string, string>): {
  channelId: string | null;
  brand: string | null;
} {
  const pick = (...names: string[]) => {
    for (const name of names) {
      const value = metadata[name];
      if (value !== undefined && value !== '') return value;
    }
    return undefined;
  };
  const channelId = pick('channel-id', 'channel', 'channelid', 'channel_id') ?? null;
  const raw = pick('brand-name', 'brand', 'brandname', 'brand_name', 'channel-name');
  let brand: string | null = null;
  if (raw !== undefined) {
    try {
      brand = decodeURIComponent(raw);
    } catch {
      brand = raw;
    }
  }
  return { channelId, brand };
}

/** The same metadata for the target bucket's copies, in S3's printable-ASCII form. */
export function logoMetadataForUpload(
  channelId: string | null,
  brand: string | null,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (channelId) out['channel-id'] = channelId;
  if (brand) out['brand-name'] = encodeURIComponent(brand);
  return out;
}
