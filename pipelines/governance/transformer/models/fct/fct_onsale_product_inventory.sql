-- The variants on sale (a sale price above zero and below the price) and their stock.
select
    v.variant_id,
    v.product_id,
    v.sku,
    v.price,
    v.sale_price,
    {{ dbt.safe_divide('v.price - v.sale_price', 'v.price') }} as discount_rate,
    v.inventory_level,
    v.is_in_stock,
    v.observed_at
from {{ source('bigcommerce', 'bigcommerce_onsale_product_inventory') }} as v
where v.sale_price > 0 and v.sale_price < v.price
