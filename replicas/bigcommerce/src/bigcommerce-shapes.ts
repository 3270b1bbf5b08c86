/**
 * The BigCommerce response shapes this replica serves, as `shared/reference/bigcommerce-api.md`
 * describes them (only the fields the replica fills).
 */

export interface Pagination {
  total: number;
  count: number;
  per_page: number;
  current_page: number;
  total_pages: number;
  links: { previous?: string; current: string; next?: string };
}

export interface CursorPagination {
  count: number;
  per_page: number;
  start_cursor: string;
  end_cursor: string;
  links: { previous?: string; current?: string; next?: string };
}

export interface V3List<T> {
  data: T[];
  meta: { pagination?: Pagination; cursor_pagination?: CursorPagination };
}

export interface V3Error {
  status: number;
  title: string;
  type: string;
  instance?: string;
  errors?: Record<string, string>;
}

export type V2Error = { status: number; message: string }[];

export interface BcCustomer {
  id: number;
  email: string;
  first_name: string;
  last_name: string;
  company: string;
  phone: string;
  customer_group_id: number;
  notes: string;
  registration_ip_address: string;
  date_created: string;
  date_modified: string;
  address_count: number;
  attribute_count: number;
  channel_ids: number[];
}

export interface BcMetafield {
  id: number;
  key: string;
  value: string;
  namespace: string;
  permission_set: 'app_only' | 'read' | 'write' | 'read_and_sf_access' | 'write_and_sf_access';
  description?: string;
  resource_type: 'customer';
  resource_id: number;
  date_created: string;
  date_modified: string;
}

export interface BcOrder {
  id: number;
  customer_id: number;
  date_created: string;
  date_modified: string;
  date_shipped: string;
  status_id: number;
  status: string;
  custom_status: string;
  subtotal_ex_tax: string;
  subtotal_inc_tax: string;
  total_ex_tax: string;
  total_inc_tax: string;
  total_tax: string;
  refunded_amount: string;
  items_total: number;
  items_shipped: number;
  currency_code: string;
  default_currency_code: string;
  currency_exchange_rate: string;
  payment_method: string;
  payment_status: string;
  channel_id: number;
  is_deleted: boolean;
  billing_address: { first_name: string; last_name: string; email: string; [k: string]: unknown };
  products: { url: string; resource: string };
  shipping_addresses: { url: string; resource: string };
  coupons: { url: string; resource: string };
}

export interface BcOrderProduct {
  id: number;
  order_id: number;
  product_id: number;
  variant_id: number;
  order_address_id: number;
  name: string;
  sku: string;
  type: 'physical' | 'digital';
  quantity: number;
  base_price: string;
  price_ex_tax: string;
  price_inc_tax: string;
  total_inc_tax: string;
  quantity_shipped: number;
}

export interface BcShipment {
  id: number;
  order_id: number;
  date_created: string;
  tracking_number: string;
  shipping_method: string;
  shipping_provider: string;
  items: { order_product_id: number; product_id: number; quantity: number }[];
}

export interface BcVariant {
  id: number;
  product_id: number;
  sku: string;
  sku_id: number | null;
  price: number | null;
  sale_price: number | null;
  calculated_price: number;
  inventory_level: number;
  inventory_warning_level: number;
  purchasing_disabled: boolean;
  option_values: { id: number; label: string; option_id: number; option_display_name: string }[];
}

export interface BcProduct {
  id: number;
  name: string;
  sku: string;
  type: 'physical' | 'digital';
  price: number;
  sale_price: number;
  calculated_price: number;
  inventory_level: number;
  inventory_warning_level: number;
  inventory_tracking: 'none' | 'product' | 'variant';
  is_visible: boolean;
  availability: 'available' | 'disabled' | 'preorder';
  categories: number[];
  total_sold: number;
  date_created: string;
  date_modified: string;
  variants?: BcVariant[];
}

export interface BcInventoryItem {
  identity: { sku: string; variant_id: number; product_id: number };
  locations: {
    location_id: number;
    location_code: string;
    location_name: string;
    available_to_sell: number;
    total_inventory_onhand: number;
    location_enabled: boolean;
    settings: {
      safety_stock: number;
      is_in_stock: boolean;
      warning_level: number;
      bin_picking_number: string;
    };
  }[];
}
