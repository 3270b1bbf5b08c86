import { z } from 'zod';

/**
 * The records the client hands out, checked field by field against the shapes of the BigCommerce
 * API (`shared/reference/bigcommerce-api.md`). A record that does not fit is skipped and counted
 * by the client, never loaded half-right. Only the fields the pipeline uses are checked; the
 * others pass through untouched.
 */

const date = z.string().refine((value) => Number.isFinite(Date.parse(value)), { message: 'is not a date' });
/** v2 leaves unset dates as '' (e.g. `date_shipped` of an order not shipped yet). */
const optionalDate = z.union([z.literal(''), date]);
/** v2 money: a decimal string, "361.9500". */
const money = z.string().regex(/^-?\d+(\.\d+)?$/, { message: 'is not a decimal amount' });
const id = z.number().int().nonnegative();
const text = z
  .string()
  .nullish()
  .transform((value) => value ?? '');

export const customerSchema = z.looseObject({
  id: id.positive(),
  email: z.string(),
  first_name: text,
  last_name: text,
  company: text,
  phone: text,
  customer_group_id: id.nullish().transform((value) => value ?? 0),
  date_created: date,
  date_modified: date,
});
export type Customer = z.output<typeof customerSchema>;

export const metafieldSchema = z.looseObject({
  id: id.positive(),
  key: z.string(),
  value: z.string(),
  namespace: z.string(),
  resource_type: z.string().optional(),
  resource_id: id.positive(),
  date_created: date,
  date_modified: date,
});
export type Metafield = z.output<typeof metafieldSchema>;

export const orderSchema = z.looseObject({
  id: id.positive(),
  customer_id: id,
  status_id: z.number().int(),
  status: z.string(),
  subtotal_inc_tax: money,
  total_ex_tax: money,
  total_inc_tax: money,
  items_total: z.number().int(),
  currency_code: z.string(),
  payment_method: text,
  is_deleted: z.boolean().optional().default(false),
  date_created: date,
  date_modified: date,
  date_shipped: optionalDate.nullish().transform((value) => value || null),
});
export type Order = z.output<typeof orderSchema>;

export const orderProductSchema = z.looseObject({
  id: id.positive(),
  order_id: id.positive(),
  product_id: id,
  variant_id: id.nullish().transform((value) => value ?? 0),
  name: text,
  sku: text,
  quantity: z.number().int(),
  base_price: money,
  price_inc_tax: money,
  total_inc_tax: money,
  quantity_shipped: z.number().int().optional().default(0),
});
export type OrderProduct = z.output<typeof orderProductSchema>;

export const shipmentSchema = z.looseObject({
  id: id.positive(),
  order_id: id.positive(),
  tracking_number: text,
  shipping_method: text,
  shipping_provider: text,
  date_created: date,
});
export type Shipment = z.output<typeof shipmentSchema>;

const price = z.number().finite();

export const variantSchema = z.looseObject({
  id: id.positive(),
  product_id: id.positive(),
  sku: text,
  price: price.nullish().transform((value) => value ?? null),
  sale_price: price.nullish().transform((value) => value ?? null),
  calculated_price: price,
  inventory_level: z.number().int(),
  purchasing_disabled: z.boolean().optional().default(false),
});
export type Variant = z.output<typeof variantSchema>;

export const productSchema = z.looseObject({
  id: id.positive(),
  name: z.string(),
  sku: text,
  type: z.string(),
  price,
  sale_price: price.nullish().transform((value) => value ?? 0),
  calculated_price: price,
  inventory_level: z.number().int(),
  inventory_tracking: z.string(),
  is_visible: z.boolean(),
  availability: z.string(),
  date_created: date,
  date_modified: date,
  variants: z.array(variantSchema).optional().default([]),
});
export type Product = z.output<typeof productSchema>;

export const inventoryItemSchema = z.looseObject({
  identity: z.looseObject({ sku: text, variant_id: id.positive(), product_id: id.positive() }),
  locations: z.array(
    z.looseObject({
      available_to_sell: z.number(),
      location_enabled: z.boolean().optional().default(true),
      settings: z.looseObject({ is_in_stock: z.boolean() }).optional(),
    }),
  ),
});
export type InventoryItem = z.output<typeof inventoryItemSchema>;

/** An order with its line items and shipments, as `streamAllOrders` yields it. */
export interface OrderWithDetails {
  order: Order;
  products: OrderProduct[];
  shipments: Shipment[];
}

/** One variant on sale (sale_price > 0 and below its price), with its stock. */
export interface OnSaleInventory {
  product_id: number;
  variant_id: number;
  sku: string;
  price: number;
  sale_price: number;
  inventory_level: number;
  is_in_stock: boolean;
}
