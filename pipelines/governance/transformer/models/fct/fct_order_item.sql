-- One row per order product (line) of an order in fct_order.
select
    i.id as order_item_id,
    i.order_id,
    i.product_id,
    i.variant_id,
    i.name,
    i.sku,
    i.quantity,
    i.base_price,
    i.price_inc_tax,
    i.total_inc_tax,
    i.quantity_shipped
from {{ source('bigcommerce', 'src_order_item') }} as i
inner join {{ ref('fct_order') }} as o on o.order_id = i.order_id
