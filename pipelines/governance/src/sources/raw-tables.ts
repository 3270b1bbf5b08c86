import type { RawTable } from './load.ts';

/**
 * The raw tables every source asset writes (schema `raw`), and the SQL models read through
 * `transformer/models/sources.yml`. `_loaded_at` is when the row was last upserted.
 */

export const SRC_CUSTOMER: RawTable = {
  name: 'src_customer',
  columns: {
    id: 'bigint',
    email: 'string',
    first_name: 'string',
    last_name: 'string',
    company: 'string',
    phone: 'string',
    customer_group_id: 'bigint',
    date_created: 'timestamp',
    date_modified: 'timestamp',
    _loaded_at: 'timestamp',
  },
};

export const SRC_CUSTOMER_METAFIELDS: RawTable = {
  name: 'src_customer_metafields',
  columns: {
    id: 'bigint',
    customer_id: 'bigint',
    namespace: 'string',
    key: 'string',
    value: 'string',
    date_created: 'timestamp',
    date_modified: 'timestamp',
    _loaded_at: 'timestamp',
  },
};

export const SRC_ORDER: RawTable = {
  name: 'src_order',
  columns: {
    id: 'bigint',
    customer_id: 'bigint',
    status_id: 'int',
    status: 'string',
    subtotal_inc_tax: 'decimal',
    total_ex_tax: 'decimal',
    total_inc_tax: 'decimal',
    items_total: 'int',
    currency_code: 'string',
    payment_method: 'string',
    is_deleted: 'boolean',
    date_created: 'timestamp',
    date_modified: 'timestamp',
    date_shipped: 'timestamp',
    _loaded_at: 'timestamp',
  },
};

export const SRC_ORDER_ITEM: RawTable = {
  name: 'src_order_item',
  columns: {
    id: 'bigint',
    order_id: 'bigint',
    product_id: 'bigint',
    variant_id: 'bigint',
    name: 'string',
    sku: 'string',
    quantity: 'int',
    base_price: 'decimal',
    price_inc_tax: 'decimal',
    total_inc_tax: 'decimal',
    quantity_shipped: 'int',
    _loaded_at: 'timestamp',
  },
};

export const SRC_SHIPMENT: RawTable = {
  name: 'src_shipment',
  columns: {
    id: 'bigint',
    order_id: 'bigint',
    tracking_number: 'string',
    shipping_method: 'string',
    shipping_provider: 'string',
    date_created: 'timestamp',
    _loaded_at: 'timestamp',
  },
};

export const SRC_PRODUCT: RawTable = {
  name: 'src_product',
  columns: {
    id: 'bigint',
    name: 'string',
    sku: 'string',
    type: 'string',
    price: 'decimal',
    sale_price: 'decimal',
    calculated_price: 'decimal',
    inventory_level: 'int',
    inventory_tracking: 'string',
    is_visible: 'boolean',
    availability: 'string',
    date_created: 'timestamp',
    date_modified: 'timestamp',
    _loaded_at: 'timestamp',
  },
};

/** Variants of products; `id` is the variant id. */
export const SRC_SKU: RawTable = {
  name: 'src_sku',
  columns: {
    id: 'bigint',
    product_id: 'bigint',
    sku: 'string',
    price: 'decimal',
    sale_price: 'decimal',
    calculated_price: 'decimal',
    inventory_level: 'int',
    purchasing_disabled: 'boolean',
    _loaded_at: 'timestamp',
  },
};

/** One row per on-sale variant, keyed by variant. */
export const BIGCOMMERCE_ONSALE_PRODUCT_INVENTORY: RawTable = {
  name: 'bigcommerce_onsale_product_inventory',
  key: 'variant_id',
  columns: {
    product_id: 'bigint',
    variant_id: 'bigint',
    sku: 'string',
    price: 'decimal',
    sale_price: 'decimal',
    inventory_level: 'int',
    is_in_stock: 'boolean',
    observed_at: 'timestamp',
  },
};

/** From `point_transaction` of wise_postgres. */
export const SRC_POINT_TRANSACTION: RawTable = {
  name: 'src_point_transaction',
  columns: {
    id: 'bigint',
    customer_id: 'bigint',
    points: 'int',
    reason: 'string',
    created_at: 'timestamp',
    updated_at: 'timestamp',
    deleted_at: 'timestamp',
    _loaded_at: 'timestamp',
  },
};

/** From `quotation` of commerce_postgres. */
export const SRC_QUOTATION: RawTable = {
  name: 'src_quotation',
  columns: {
    id: 'bigint',
    customer_id: 'bigint',
    product_id: 'bigint',
    quantity: 'int',
    quoted_price: 'decimal',
    status: 'string',
    created_at: 'timestamp',
    updated_at: 'timestamp',
    _loaded_at: 'timestamp',
  },
};
