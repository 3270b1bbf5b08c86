select customer_id, revenue from {{ ref('customers') }} where revenue < 0
