-- Quotations, with their total.
select
    q.id as quotation_id,
    q.customer_id,
    q.product_id,
    q.quantity,
    q.quoted_price,
    q.quoted_price * q.quantity as quoted_total,
    q.status,
    q.created_at,
    q.updated_at
from {{ source('commerce', 'src_quotation') }} as q
