{#- A UTC timestamp from microseconds since the Unix epoch (GA4's event_timestamp). -#}
{% macro epoch_micros_to_timestamp(column) %}
    {{ return(adapter.dispatch('epoch_micros_to_timestamp')(column)) }}
{% endmacro %}

{% macro default__epoch_micros_to_timestamp(column) %}
    {{ dbt.dateadd('second', 'cast(' ~ column ~ ' / 1000000 as bigint)',
                   "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")") }}
{% endmacro %}

{% macro duckdb__epoch_micros_to_timestamp(column) %}
    make_timestamp(cast({{ column }} as bigint))
{% endmacro %}

{% macro spark__epoch_micros_to_timestamp(column) %}
    timestamp_micros(cast({{ column }} as bigint))
{% endmacro %}
