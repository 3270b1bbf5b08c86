-- One row per order that is not deleted.
select
    o.id as order_id,
    o.customer_id,
    o.status_id,
    o.status,
    o.subtotal_inc_tax,
    o.total_ex_tax,
    o.total_inc_tax,
    o.items_total,
    o.currency_code,
    o.payment_method,
    o.date_created as ordered_at,
    o.date_modified,
    o.date_shipped as shipped_at
from {{ source('bigcommerce', 'src_order') }} as o
where o.is_deleted = false
