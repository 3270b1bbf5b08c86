-- One row per variant (SKU). A variant without its own price takes its product's.
select
    s.id as sku_id,
    s.product_id,
    s.sku,
    p.name as product_name,
    coalesce(s.price, p.price) as price,
    coalesce(s.sale_price, p.sale_price) as sale_price,
    s.calculated_price,
    s.inventory_level,
    s.purchasing_disabled
from {{ source('bigcommerce', 'src_sku') }} as s
inner join {{ ref('dim_product') }} as p on p.product_id = s.product_id
