-- One row per shipment of an order in fct_order.
select
    s.id as shipment_id,
    s.order_id,
    s.tracking_number,
    s.shipping_method,
    s.shipping_provider,
    s.date_created as shipped_at
from {{ source('bigcommerce', 'src_shipment') }} as s
inner join {{ ref('fct_order') }} as o on o.order_id = s.order_id
