import type {
  BcCustomer,
  BcInventoryItem,
  BcMetafield,
  BcOrder,
  BcOrderProduct,
  BcProduct,
  BcShipment,
  BcVariant,
} from './bigcommerce-shapes.ts';

/**
 * The replica's store, generated from a seed. Only what changes is kept per record (creation and
 * modification times, a version bumped by `mutate`), in typed arrays; every other field is derived
 * on demand from (seed, id, version) by a hash. Starting a store of 10,000 customers and 50,000
 * orders therefore takes milliseconds, and the same seed gives the same data on every machine.
 */

export interface StoreSize {
  /** Default 10,000. */
  customers?: number;
  /** Default 50,000. */
  orders?: number;
  /** Default 2,000. */
  products?: number;
}

export interface MutateFractions {
  /** Fraction (0..1) of customers to change; their `date_modified` becomes now. */
  customers?: number;
  orders?: number;
  products?: number;
}

export interface MutateResult {
  customers: number[];
  orders: number[];
  products: number[];
}

/** The metafield that subscribes a customer to a product: namespace `wisely`, key `product_subscription`, value = product id. */
export const SUBSCRIPTION_NAMESPACE = 'wisely';
export const SUBSCRIPTION_KEY = 'product_subscription';

export const ORDER_STATUSES: Record<number, string> = {
  0: 'Incomplete',
  1: 'Pending',
  2: 'Shipped',
  3: 'Partially Shipped',
  4: 'Refunded',
  5: 'Cancelled',
  6: 'Declined',
  7: 'Awaiting Payment',
  8: 'Awaiting Pickup',
  9: 'Awaiting Shipment',
  10: 'Completed',
  11: 'Awaiting Fulfillment',
  12: 'Manual Verification Required',
  13: 'Disputed',
  14: 'Partially Refunded',
};
/** Statuses drawn for generated orders, most of them completed or shipped. */
const STATUS_DRAW = [10, 10, 10, 10, 2, 2, 2, 3, 11, 11, 9, 7, 1, 5, 4, 14];
const SHIPPED_STATUSES = new Set([2, 3, 10, 14]);

const SURNAMES =
  '김이박최정강조윤장임한오서신권황안송류홍전고문양손배백허남심노하곽성차주우구민유진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부황보'.split(
    '',
  );
const GIVEN = '민서지현수영준우예은하윤도연성훈재희유진아주원태호승혜경동석상철정미나라소결채빈'.split('');
const COMPANIES = [
  '',
  '',
  '',
  '(주)한빛',
  '주식회사 누리',
  '도담상사',
  '바른유통',
  '새봄커머스',
  '라온랩',
  '온누리무역',
];
const PRODUCT_WORDS = [
  '유기농',
  '프리미엄',
  '데일리',
  '홈',
  '클래식',
  '내추럴',
  '스마트',
  '미니',
  '에센셜',
  '오리지널',
];
const PRODUCT_NOUNS = [
  '샴푸',
  '면도기',
  '칫솔',
  '비타민',
  '바디워시',
  '치약',
  '로션',
  '마스크팩',
  '텀블러',
  '수건',
  '양말',
  '커피',
];
const SHIPPING = [
  ['CJ대한통운', 'Standard Shipping'],
  ['한진택배', 'Standard Shipping'],
  ['롯데택배', 'Express Shipping'],
  ['우체국택배', 'Free Shipping'],
] as const;
const DAY = 86_400;

/** A 32-bit integer hash of a few integers (murmur3's finalizer over a running mix): stateless, so any field of any record can be derived alone. */
function mix(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const value of values) {
    h = Math.imul(h ^ (value | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Uniform in [0, 1) from integers. */
function unit(...values: number[]): number {
  return mix(...values) / 4294967296;
}

function between(min: number, max: number, ...values: number[]): number {
  return min + Math.floor(unit(...values) * (max - min + 1));
}

function pickOf<T>(items: readonly T[], ...values: number[]): T {
  return items[Math.floor(unit(...values) * items.length)] as T;
}

/** Field tags, so two fields of one record never share a hash stream. */
enum F {
  Created = 1,
  Modified,
  Surname,
  Given1,
  Given2,
  Company,
  Phone,
  Group,
  Subscribe,
  SubCount,
  SubPick,
  Guest,
  Customer,
  Status,
  Items,
  ItemProduct,
  ItemVariant,
  ItemQty,
  Shipper,
  Shipped,
  Price,
  Sale,
  SaleRatio,
  Variants,
  Stock,
  Visible,
  Word,
  Noun,
  Mutate,
  Payment,
}

export function rfc2822(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toUTCString().replace('GMT', '+0000');
}

export function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', '+00:00');
}

function money(value: number): string {
  return value.toFixed(4);
}

export interface VariantFacts {
  id: number;
  productId: number;
  sku: string;
  /** The variant's own price (null: the product's). */
  price: number | null;
  salePrice: number | null;
  effectivePrice: number;
  calculatedPrice: number;
  inventoryLevel: number;
}

export class GeneratedStore {
  readonly seed: number;
  readonly anchor: number;
  readonly customerCount: number;
  readonly orderCount: number;
  readonly productCount: number;
  readonly customerModified: Int32Array;
  readonly customerVersion: Uint16Array;
  readonly orderModified: Int32Array;
  readonly orderVersion: Uint16Array;
  readonly productModified: Int32Array;
  readonly productVersion: Uint16Array;
  readonly metafields: BcMetafield[] = [];
  /** Product ids on sale (sale_price > 0 and < price). */
  readonly onSaleProducts: number[] = [];
  #mutations = 0;

  constructor(seed: number, size: StoreSize = {}, anchorSeconds = Math.floor(Date.now() / 1000)) {
    this.seed = seed;
    this.anchor = anchorSeconds;
    this.customerCount = size.customers ?? 10_000;
    this.orderCount = size.orders ?? 50_000;
    this.productCount = size.products ?? 2_000;
    this.customerModified = new Int32Array(this.customerCount + 1);
    this.customerVersion = new Uint16Array(this.customerCount + 1);
    this.orderModified = new Int32Array(this.orderCount + 1);
    this.orderVersion = new Uint16Array(this.orderCount + 1);
    this.productModified = new Int32Array(this.productCount + 1);
    this.productVersion = new Uint16Array(this.productCount + 1);
    for (let id = 1; id <= this.customerCount; id++) this.customerModified[id] = this.#modified(id, 1);
    for (let id = 1; id <= this.orderCount; id++) this.orderModified[id] = this.#modified(id, 2);
    for (let id = 1; id <= this.productCount; id++) {
      this.productModified[id] = this.#modified(id, 3);
      if (this.isOnSale(id)) this.onSaleProducts.push(id);
    }
    this.#generateMetafields();
  }

  /** Created between 2 and 730 days before the anchor. */
  created(id: number, kind: number): number {
    return this.anchor - 2 * DAY - between(0, 728 * DAY, this.seed, kind, id, F.Created);
  }

  /** Between creation and two days before the anchor, so a fresh lookback window holds only mutated records. */
  #modified(id: number, kind: number): number {
    const created = this.created(id, kind);
    return created + Math.floor(unit(this.seed, kind, id, F.Modified) * (this.anchor - 2 * DAY - created));
  }

  #generateMetafields(): void {
    let next = 1;
    for (let customer = 1; customer <= this.customerCount; customer++) {
      if (unit(this.seed, customer, F.Subscribe) >= 0.2) continue;
      const created = this.created(customer, 1);
      const count = between(1, 3, this.seed, customer, F.SubCount);
      const seen = new Set<number>();
      for (let k = 0; k < count; k++) {
        // Half of the subscriptions are to products on sale, so notifications have work to do.
        const pool = unit(this.seed, customer, k, F.SubPick) < 0.5 && this.onSaleProducts.length > 0;
        const product = pool
          ? pickOf(this.onSaleProducts, this.seed, customer, k, F.Sale)
          : between(1, this.productCount, this.seed, customer, k, F.SubPick, 7);
        if (seen.has(product)) continue;
        seen.add(product);
        const at = created + between(0, DAY, this.seed, customer, k);
        this.metafields.push({
          id: next++,
          key: SUBSCRIPTION_KEY,
          value: String(product),
          namespace: SUBSCRIPTION_NAMESPACE,
          permission_set: 'app_only',
          description: 'Restock and sale notifications for this product',
          resource_type: 'customer',
          resource_id: customer,
          date_created: iso(at),
          date_modified: iso(at),
        });
      }
    }
  }

  // ---------------------------------------------------------------- customers

  customer(id: number): BcCustomer {
    const v = this.customerVersion[id] ?? 0;
    const s = this.seed;
    return {
      id,
      email: `customer${id}@example.kr`,
      first_name: pickOf(GIVEN, s, id, F.Given1) + pickOf(GIVEN, s, id, F.Given2),
      last_name: pickOf(SURNAMES, s, id, F.Surname),
      company: pickOf(COMPANIES, s, id, v, F.Company),
      phone: `010-${between(1000, 9999, s, id, v, F.Phone)}-${between(1000, 9999, s, id, v, F.Phone, 1)}`,
      customer_group_id: between(0, 3, s, id, v, F.Group),
      notes: '',
      registration_ip_address: `10.${id % 250}.${(id >> 8) % 250}.${between(1, 250, s, id)}`,
      date_created: iso(this.created(id, 1)),
      date_modified: iso(this.customerModified[id] ?? 0),
      address_count: between(0, 2, s, id, 11),
      attribute_count: 0,
      channel_ids: [1],
    };
  }

  // ---------------------------------------------------------------- products

  isOnSale(id: number): boolean {
    return unit(this.seed, id, F.Sale) < 0.12;
  }

  #saleRatio(id: number, v: number): number {
    return 0.5 + 0.45 * unit(this.seed, id, v, F.SaleRatio);
  }

  productPrice(id: number): number {
    return 1000 * between(5, 120, this.seed, id, F.Price);
  }

  variantCount(id: number): number {
    return between(1, 3, this.seed, id, F.Variants);
  }

  variants(productId: number): VariantFacts[] {
    const v = this.productVersion[productId] ?? 0;
    const count = this.variantCount(productId);
    const base = this.productPrice(productId);
    const onSale = this.isOnSale(productId);
    const out: VariantFacts[] = [];
    for (let k = 0; k < count; k++) {
      const effectivePrice = base + k * 1000;
      const salePrice = onSale
        ? Math.round((effectivePrice * this.#saleRatio(productId, v)) / 100) * 100
        : null;
      const zero = unit(this.seed, productId, k, v, F.Stock, 1) < 0.15;
      out.push({
        id: (productId - 1) * 3 + k + 1,
        productId,
        sku: count === 1 ? `SKU-${productId}` : `SKU-${productId}-${k + 1}`,
        price: count === 1 ? null : effectivePrice,
        salePrice,
        effectivePrice,
        calculatedPrice: salePrice ?? effectivePrice,
        inventoryLevel: zero ? 0 : between(1, 200, this.seed, productId, k, v, F.Stock),
      });
    }
    return out;
  }

  product(id: number, withVariants: boolean): BcProduct {
    const s = this.seed;
    const v = this.productVersion[id] ?? 0;
    const facts = this.variants(id);
    const price = this.productPrice(id);
    const onSale = this.isOnSale(id);
    const salePrice = onSale ? Math.round((price * this.#saleRatio(id, v)) / 100) * 100 : 0;
    const product: BcProduct = {
      id,
      name: `${pickOf(PRODUCT_WORDS, s, id, F.Word)} ${pickOf(PRODUCT_NOUNS, s, id, F.Noun)} ${id}`,
      sku: `SKU-${id}`,
      type: 'physical',
      price,
      sale_price: salePrice,
      calculated_price: onSale ? salePrice : price,
      inventory_level: facts.reduce((sum, f) => sum + f.inventoryLevel, 0),
      inventory_warning_level: 5,
      inventory_tracking: facts.length > 1 ? 'variant' : 'product',
      is_visible: unit(s, id, F.Visible) < 0.95,
      availability: 'available',
      categories: [between(20, 30, s, id)],
      total_sold: between(0, 500, s, id, 12),
      date_created: iso(this.created(id, 3)),
      date_modified: iso(this.productModified[id] ?? 0),
    };
    if (withVariants) product.variants = facts.map((f) => variantOf(f));
    return product;
  }

  inventoryItem(f: VariantFacts): BcInventoryItem {
    return {
      identity: { sku: f.sku, variant_id: f.id, product_id: f.productId },
      locations: [
        {
          location_id: 1,
          location_code: 'SEOUL-1',
          location_name: '서울 물류센터',
          available_to_sell: f.inventoryLevel,
          total_inventory_onhand: f.inventoryLevel,
          location_enabled: true,
          settings: {
            safety_stock: 0,
            is_in_stock: f.inventoryLevel > 0,
            warning_level: 5,
            bin_picking_number: '',
          },
        },
      ],
    };
  }

  // ---------------------------------------------------------------- orders

  orderStatus(id: number): number {
    const v = this.orderVersion[id] ?? 0;
    if (v === 0) return pickOf(STATUS_DRAW, this.seed, id, F.Status);
    // A changed order moves on, the way real orders do: shipped, then completed, sometimes refunded.
    return pickOf([2, 10, 10, 4], this.seed, id, v, F.Status);
  }

  orderProducts(orderId: number): BcOrderProduct[] {
    const s = this.seed;
    const count = between(1, 3, s, orderId, F.Items);
    const status = this.orderStatus(orderId);
    const shipped = SHIPPED_STATUSES.has(status);
    const out: BcOrderProduct[] = [];
    for (let k = 0; k < count; k++) {
      const productId = between(1, this.productCount, s, orderId, k, F.ItemProduct);
      const variants = this.variants(productId);
      const f = pickOf(variants, s, orderId, k, F.ItemVariant);
      const quantity = between(1, 3, s, orderId, k, F.ItemQty);
      const inc = f.calculatedPrice;
      const ex = Math.round((inc / 1.1) * 100) / 100;
      out.push({
        id: orderId * 4 + k,
        order_id: orderId,
        product_id: productId,
        variant_id: f.id,
        order_address_id: orderId,
        name: this.product(productId, false).name,
        sku: f.sku,
        type: 'physical',
        quantity,
        base_price: money(f.effectivePrice),
        price_ex_tax: money(ex),
        price_inc_tax: money(inc),
        total_inc_tax: money(inc * quantity),
        quantity_shipped: shipped ? (status === 3 && k > 0 ? 0 : quantity) : 0,
      });
    }
    return out;
  }

  shipments(orderId: number): BcShipment[] {
    const status = this.orderStatus(orderId);
    if (!SHIPPED_STATUSES.has(status)) return [];
    const items = this.orderProducts(orderId).filter((p) => p.quantity_shipped > 0);
    const [provider, method] = pickOf(SHIPPING, this.seed, orderId, F.Shipper);
    return [
      {
        id: orderId,
        order_id: orderId,
        date_created: rfc2822(this.#shippedAt(orderId)),
        tracking_number: `${between(100000, 999999, this.seed, orderId, F.Shipper, 1)}${String(orderId).padStart(6, '0')}`,
        shipping_method: method,
        shipping_provider: provider,
        items: items.map((p) => ({
          order_product_id: p.id,
          product_id: p.product_id,
          quantity: p.quantity_shipped,
        })),
      },
    ];
  }

  #shippedAt(orderId: number): number {
    const created = this.created(orderId, 2);
    return Math.min(
      created + between(DAY / 2, 3 * DAY, this.seed, orderId, F.Shipped),
      this.orderModified[orderId] ?? created,
    );
  }

  /** 0 for a guest (about 5% of orders). */
  orderCustomer(id: number): number {
    return unit(this.seed, id, F.Guest) < 0.05
      ? 0
      : between(1, this.customerCount, this.seed, id, F.Customer);
  }

  order(id: number, baseUrl: string): BcOrder {
    const s = this.seed;
    const status = this.orderStatus(id);
    const items = this.orderProducts(id);
    const inc = items.reduce((sum, p) => sum + Number(p.total_inc_tax), 0);
    const ex = Math.round((inc / 1.1) * 100) / 100;
    const customerId = this.orderCustomer(id);
    const customer = customerId > 0 ? this.customer(customerId) : undefined;
    const shipped = SHIPPED_STATUSES.has(status);
    return {
      id,
      customer_id: customerId,
      date_created: rfc2822(this.created(id, 2)),
      date_modified: rfc2822(this.orderModified[id] ?? 0),
      date_shipped: shipped ? rfc2822(this.#shippedAt(id)) : '',
      status_id: status,
      status: ORDER_STATUSES[status] ?? 'Unknown',
      custom_status: ORDER_STATUSES[status] ?? 'Unknown',
      subtotal_ex_tax: money(ex),
      subtotal_inc_tax: money(inc),
      total_ex_tax: money(ex),
      total_inc_tax: money(inc),
      total_tax: money(inc - ex),
      refunded_amount: money(status === 4 ? inc : 0),
      items_total: items.reduce((sum, p) => sum + p.quantity, 0),
      items_shipped: items.reduce((sum, p) => sum + p.quantity_shipped, 0),
      currency_code: 'KRW',
      default_currency_code: 'KRW',
      currency_exchange_rate: '1.0000000000',
      payment_method: pickOf(['Credit Card', '카카오페이', '네이버페이', 'Bank Deposit'], s, id, F.Payment),
      payment_status: status === 7 ? 'pending' : 'captured',
      channel_id: 1,
      is_deleted: false,
      billing_address: {
        first_name: customer?.first_name ?? '비회원',
        last_name: customer?.last_name ?? '',
        email: customer?.email ?? `guest${id}@example.kr`,
        country_iso2: 'KR',
      },
      products: { url: `${baseUrl}/v2/orders/${id}/products`, resource: `/orders/${id}/products` },
      shipping_addresses: {
        url: `${baseUrl}/v2/orders/${id}/shipping_addresses`,
        resource: `/orders/${id}/shipping_addresses`,
      },
      coupons: { url: `${baseUrl}/v2/orders/${id}/coupons`, resource: `/orders/${id}/coupons` },
    };
  }

  // ---------------------------------------------------------------- changes

  /**
   * Changes a fraction of the records now: each chosen record gets a new version (other phone,
   * group, status, price...) and `date_modified` = now. Returns the ids changed.
   */
  mutate(fractions: MutateFractions, nowSeconds = Math.floor(Date.now() / 1000)): MutateResult {
    const round = ++this.#mutations;
    const pick = (count: number, fraction: number | undefined, kind: number): number[] => {
      if (!fraction || fraction <= 0) return [];
      const wanted = Math.min(count, Math.max(1, Math.round(count * Math.min(1, fraction))));
      const chosen = new Set<number>();
      for (let i = 0; chosen.size < wanted; i++)
        chosen.add(between(1, count, this.seed, kind, round, i, F.Mutate));
      return [...chosen].sort((a, b) => a - b);
    };
    const result: MutateResult = {
      customers: pick(this.customerCount, fractions.customers, 1),
      orders: pick(this.orderCount, fractions.orders, 2),
      products: pick(this.productCount, fractions.products, 3),
    };
    for (const id of result.customers) {
      this.customerVersion[id] = (this.customerVersion[id] ?? 0) + 1;
      this.customerModified[id] = nowSeconds;
    }
    for (const id of result.orders) {
      this.orderVersion[id] = (this.orderVersion[id] ?? 0) + 1;
      this.orderModified[id] = nowSeconds;
    }
    for (const id of result.products) {
      this.productVersion[id] = (this.productVersion[id] ?? 0) + 1;
      this.productModified[id] = nowSeconds;
    }
    return result;
  }
}

function variantOf(f: VariantFacts): BcVariant {
  return {
    id: f.id,
    product_id: f.productId,
    sku: f.sku,
    sku_id: f.id,
    price: f.price,
    sale_price: f.salePrice,
    calculated_price: f.calculatedPrice,
    inventory_level: f.inventoryLevel,
    inventory_warning_level: 5,
    purchasing_disabled: false,
    option_values:
      f.price === null
        ? []
        : [{ id: f.id, label: `옵션 ${f.sku}`, option_id: 1, option_display_name: '옵션' }],
  };
}
