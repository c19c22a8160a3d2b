{#- True when the text is exactly `count` ASCII digits. Portable regex match per adapter. -#}
{% macro matches_digits(column, count) %}
    {{ return(adapter.dispatch('matches_digits')(column, count)) }}
{% endmacro %}

{% macro default__matches_digits(column, count) %}
    ({{ column }} ~ '^[0-9]{ {{- count -}} }$')
{% endmacro %}

{% macro duckdb__matches_digits(column, count) %}
    regexp_full_match({{ column }}, '[0-9]{ {{- count -}} }')
{% endmacro %}

{% macro spark__matches_digits(column, count) %}
    ({{ column }} rlike '^[0-9]{ {{- count -}} }$')
{% endmacro %}
