-- Point transactions that are not deleted.
select
    t.id as point_transaction_id,
    t.customer_id,
    t.points,
    t.reason,
    t.created_at,
    t.updated_at
from {{ source('wise', 'src_point_transaction') }} as t
where t.deleted_at is null
