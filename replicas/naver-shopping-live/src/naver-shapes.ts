/**
 * Response shapes of Naver Shopping Live's public endpoints, field for field as public crawlers
 * read them (see the reference notes on the API). The replica serves exactly these.
 */

export interface GatheringResponse {
  list: GatheringItem[];
  next: string | null;
}

export interface GatheringItem {
  broadcast?: GatheringBroadcast;
  shortclip?: Shortclip;
}

export interface GatheringBroadcast {
  broadcast: Broadcast;
  owner: ChannelOwner;
  shoppingProducts: Product[];
}

export interface Broadcast {
  id: number;
  title: string;
  description?: string;
  /** BLOCK means ended with a replay available. */
  status: 'ONAIR' | 'END' | 'BLOCK' | 'STANDBY';
  /** KST without a zone, e.g. "2026-05-20T22:25:50.346". */
  startDate?: string;
  endDate?: string;
  expectedStartDate?: string;
  standByImage?: string;
  previewImage?: string;
  productCount?: number;
  serviceId?: string;
}

export interface ChannelOwner {
  id: number;
  broadcasterId: number;
  accountNo: string;
  name: string;
  profileImageUrl: string;
  broadcasterEndUrl: string;
  grade: 'GRADE_1' | 'GRADE_2' | 'GRADE_3' | 'GRADE_4';
  description?: string | null;
}

export interface Shortclip {
  id: number;
  title: string;
  status: string;
  createdAt: string;
  endUrl: string;
  thumbnail?: string;
  channel: ChannelOwner;
}

export interface Product {
  key: string;
  productNo?: number;
  name: string;
  brandName?: string;
  mallName?: string;
  image: string;
  price: number;
  discountedSalePrice?: number;
  discountRate: number;
  stock?: number;
  status: string;
  productEndUrl?: string;
}

export interface ViewerBroadcast extends Broadcast {
  nickname: string;
  profileUrl: string;
  broadcastOwnerId: number;
  broadcasterEndUrl: string;
  broadcastEndUrl: string;
  shoppingProducts: Product[];
  categoryComponent?: { categories: { name: string; id: string; primary: boolean }[]; brandName?: string };
}

export interface TimelineEntry {
  broadcast: Broadcast;
  owner: ChannelOwner;
}

export interface TimelineCurrentResponse {
  currentBroadcast: TimelineEntry | null;
  nextBroadcasts: { list: TimelineEntry[]; next: string | null };
}

export interface TimelineNextResponse {
  list: TimelineEntry[];
  next: string | null;
}
