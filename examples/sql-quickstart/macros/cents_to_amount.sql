{% macro cents_to_amount(column) -%}
  round(cast({{ column }} as {{ dbt.type_numeric() }}) / 100, 2)
{%- endmacro %}
