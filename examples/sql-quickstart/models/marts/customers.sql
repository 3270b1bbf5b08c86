{{ config(materialized='table') }}
with orders as (
  select customer_id, count(*) as orders, sum(amount) as revenue, max(ordered_at) as last_ordered_at
  from {{ ref('stg_orders') }}
  where status <> 'returned'
  group by customer_id
)
select
  c.customer_id,
  {{ dbt.concat(["c.first_name", "' '", "c.last_name"]) }} as full_name,
  coalesce(o.orders, 0) as orders,
  coalesce(o.revenue, 0) as revenue,
  '{{ var("currency") }}' as currency,
  o.last_ordered_at
from {{ ref('stg_customers') }} as c
left join orders as o on o.customer_id = c.customer_id
