{#- Column types dbt's cross-database macros lack: a 64-bit float and money. -#}
{% macro type_double() %}
    {{ return(adapter.dispatch('type_double')()) }}
{% endmacro %}

{% macro default__type_double() %}double precision{% endmacro %}

{% macro duckdb__type_double() %}double{% endmacro %}

{% macro spark__type_double() %}double{% endmacro %}

{#- Money: two decimals, USD unless a column says otherwise. -#}
{% macro type_money() %}decimal(18, 2){% endmacro %}

{#- A count as a 64-bit integer (DuckDB's sum() of integers is 128-bit). -#}
{% macro count_if(condition) %}
    cast(sum(case when {{ condition }} then 1 else 0 end) as {{ dbt.type_bigint() }})
{% endmacro %}
