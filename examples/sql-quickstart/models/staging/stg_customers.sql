-- In a real project this reads a loaded table through source('shop', 'customers') in Jinja braces.
select * from (
  values
    (1, 'Ada', 'Lovelace'),
    (2, 'Alan', 'Turing'),
    (3, 'Grace', 'Hopper')
) as customers (customer_id, first_name, last_name)
