-- Completed purchases (status Shipped or Completed): the order, its customer, what was bought
-- and how it was shipped.
with items as (
    select
        order_id,
        count(*) as item_count,
        sum(quantity) as quantity
    from {{ ref('fct_order_item') }}
    group by order_id
),

shipments as (
    select
        order_id,
        count(*) as shipment_count,
        max(tracking_number) as tracking_number
    from {{ ref('fct_shipment') }}
    group by order_id
)

select
    o.order_id,
    o.customer_id,
    c.email,
    c.first_name,
    c.last_name,
    o.status,
    o.total_inc_tax,
    o.currency_code,
    coalesce(i.item_count, 0) as item_count,
    coalesce(i.quantity, 0) as quantity,
    coalesce(s.shipment_count, 0) as shipment_count,
    s.tracking_number,
    o.ordered_at,
    o.shipped_at
from {{ ref('fct_order') }} as o
left join {{ ref('dim_customer') }} as c on c.customer_id = o.customer_id
left join items as i on i.order_id = o.order_id
left join shipments as s on s.order_id = o.order_id
where o.status_id in ({{ var('complete_order_status_ids') | join(', ') }})
