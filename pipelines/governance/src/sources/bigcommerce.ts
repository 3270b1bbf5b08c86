/**
 * TEMPORARY PLACEHOLDER, to be replaced by the real BigCommerce source assets (same path, same
 * exports). It exists only so that `definitions.ts` typechecks and loads before they are in this
 * tree: each asset has the real key and group, and fails when run.
 */
import { type AssetDefinition, asset } from '@dag/core';

function placeholder(name: string, group: string): AssetDefinition {
  return asset(
    { name, group, description: `BigCommerce source ${name} (not yet in this tree).`, io: false },
    () => {
      throw new Error(`${name}: the BigCommerce source assets are not in this tree yet.`);
    },
  );
}

export const src_customer = placeholder('src_customer', 'customer');
export const src_customer_metafields = placeholder('src_customer_metafields', 'customer');
export const src_order = placeholder('src_order', 'order');
export const src_product = placeholder('src_product', 'product');
export const bigcommerce_onsale_product_inventory = placeholder(
  'bigcommerce_onsale_product_inventory',
  'product',
);
