-- One row per BigCommerce customer, with the number of products they subscribed to
-- (customer metafields in namespace `wisely`, key `product_subscription`).
with subscriptions as (
    select
        m.customer_id,
        count(distinct m.value) as subscribed_product_count
    from {{ source('bigcommerce', 'src_customer_metafields') }} as m
    where m.namespace = 'wisely' and m.key = 'product_subscription'
    group by m.customer_id
)

select
    c.id as customer_id,
    lower(trim(c.email)) as email,
    c.first_name,
    c.last_name,
    c.company,
    c.phone,
    c.customer_group_id,
    coalesce(s.subscribed_product_count, 0) as subscribed_product_count,
    c.date_created,
    c.date_modified
from {{ source('bigcommerce', 'src_customer') }} as c
left join subscriptions as s on s.customer_id = c.id
