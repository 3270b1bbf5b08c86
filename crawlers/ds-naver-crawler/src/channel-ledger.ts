import type { DiscoveredChannel } from './gathering-page.ts';

/**
 * Which channels the crawl has taken up, so that each logo is fetched once however many categories,
 * pages, broadcasts and shortclips show the channel. A channel seen only without a logo URL stays
 * open: a later appearance (another category, or its shortclip instead of its broadcast) may carry one.
 */
export class ChannelLedger {
  private readonly taken = new Set<string>();
  private readonly withoutLogoIds = new Set<string>();

  /** True the first time `channel` appears with a logo URL; the caller then handles it. */
  take(channel: DiscoveredChannel): boolean {
    if (this.taken.has(channel.id)) return false;
    if (!channel.logoUrl) {
      this.withoutLogoIds.add(channel.id);
      return false;
    }
    this.withoutLogoIds.delete(channel.id);
    this.taken.add(channel.id);
    return true;
  }

  /** Channels that never appeared with a logo URL, in the order they were first seen. */
  withoutLogo(): string[] {
    return [...this.withoutLogoIds];
  }
}
