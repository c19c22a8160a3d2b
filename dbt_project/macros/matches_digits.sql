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

{#- Java's `$` also matches before a final line break ("1234567893\n"): `\z` is the end. -#}
{% macro spark__matches_digits(column, count) %}
    ({{ column }} rlike '^[0-9]{ {{- count -}} }\\z')
{% endmacro %}
