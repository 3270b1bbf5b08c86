select
  order_id,
  customer_id,
  {{ cents_to_amount('amount_cents') }} as amount,
  status,
  cast(ordered_at as {{ dbt.type_timestamp() }}) as ordered_at
from (
  values
    (10, 1, 1250, 'completed', '2026-03-01 10:00:00'),
    (11, 1, 990, 'completed', '2026-03-02 11:30:00'),
    (12, 2, 5000, 'returned', '2026-03-02 09:00:00'),
    (13, 3, 100, 'completed', '2026-03-03 12:00:00')
) as orders (order_id, customer_id, amount_cents, status, ordered_at)
