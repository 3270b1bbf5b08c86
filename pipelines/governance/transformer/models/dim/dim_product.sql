-- One row per product. On sale: a sale price above zero and below the price.
select
    p.id as product_id,
    p.name,
    p.sku,
    p.type,
    p.price,
    p.sale_price,
    p.calculated_price,
    p.inventory_level,
    p.inventory_tracking,
    p.is_visible,
    p.availability,
    case when p.sale_price > 0 and p.sale_price < p.price then true else false end as is_on_sale,
    p.date_created,
    p.date_modified
from {{ source('bigcommerce', 'src_product') }} as p
