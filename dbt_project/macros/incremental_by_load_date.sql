{#
    How an incremental staging model adds rows without ever duplicating one, per engine.

    Each run re-reads whole load dates: every raw row loaded on or after the day
    `incremental_lookback_days` before the latest load already in the model. Raw tables are
    append-only and a row has one load time, so the rows read are complete load dates.
    - DuckDB and Postgres merge them on the model's unique key.
    - Spark without Delta cannot merge: the model is partitioned by `loaded_date` and the
      rows read replace their load dates' partitions whole (insert_overwrite, dynamic).
#}
{% macro incremental_strategy_config() %}
    {% if target.type == 'spark' %}
        {{ return({'incremental_strategy': 'insert_overwrite',
                   'partition_by': ['loaded_date']}) }}
    {% endif %}
    {{ return({}) }}
{% endmacro %}

{% macro loaded_on_or_after_lookback(loaded_at_column) %}
    cast({{ loaded_at_column }} as date) >= (
        select cast({{ dbt.dateadd('day', -var('incremental_lookback_days'),
                                   'max(loaded_at)') }} as date)
        from {{ this }}
    )
{% endmacro %}
