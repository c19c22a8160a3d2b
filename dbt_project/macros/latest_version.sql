{#-
    The latest delivered version of each record: incremental feeds deliver a record again
    when it changes, and the raw layer keeps every delivery. Ties on the ordering columns
    fall to the record loaded last. Portable: a window in a subquery (no QUALIFY).
-#}
{% macro latest_version(relation, partition_by, order_by) %}
    select *
    from (
        select
            *,
            count(*) over (partition by {{ partition_by }}) as version_count,
            row_number() over (
                partition by {{ partition_by }}
                order by {{ order_by }} desc, _loaded_at desc, _record_number desc
            ) as version_rank
        from {{ relation }}
    ) as versions
    where version_rank = 1
{% endmacro %}

{#-
    Every delivered version of each record once: a version (a record's `last_updated_at`)
    delivered twice, in two exports or two files, counts as the delivery loaded last. What
    status histories and version-by-version models read.
-#}
{% macro delivered_versions(relation, partition_by) %}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ partition_by }}, last_updated_at
                order by _loaded_at desc, _record_number desc
            ) as delivery_rank
        from {{ relation }}
    ) as deliveries
    where delivery_rank = 1
{% endmacro %}
