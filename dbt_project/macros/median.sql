{#- The median of a column as an aggregate, portable across DuckDB, Postgres and Spark. -#}
{% macro median(column) %}
    {{ return(adapter.dispatch('median')(column)) }}
{% endmacro %}

{% macro default__median(column) %}
    percentile_cont(0.5) within group (order by {{ column }})
{% endmacro %}

{% macro spark__median(column) %}
    percentile({{ column }}, 0.5)
{% endmacro %}
