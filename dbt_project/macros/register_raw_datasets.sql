{#
    The raw layer on Spark: each raw source table is an external Parquet table over the
    loader's raw dataset folder for it (orchestration/ingest/raw_datasets.py), registered
    again before every build so new batch files and new columns are seen. Dropping an
    external table never deletes its files. DuckDB and Postgres hold raw tables themselves.
#}
{% macro register_raw_datasets() %}
    {{ return(adapter.dispatch('register_raw_datasets')()) }}
{% endmacro %}

{% macro default__register_raw_datasets() %}
    select 1 as nothing_to_register
{% endmacro %}

{% macro spark__register_raw_datasets() %}
    {% if execute %}
        {% set root = raw_dataset_dir() %}
        {% set schemas = [] %}
        {% for source in graph.sources.values() %}
            {% if source.schema not in schemas %}
                {% do run_query('create database if not exists ' ~ source.schema) %}
                {% do schemas.append(source.schema) %}
            {% endif %}
            {% set table = source.schema ~ '.' ~ source.identifier %}
            {% do run_query('drop table if exists ' ~ table) %}
            {% do run_query('create table ' ~ table ~ " using parquet options "
                            ~ "(mergeSchema 'true') location '" ~ root ~ '/'
                            ~ source.identifier ~ "'") %}
        {% endfor %}
    {% endif %}
    select 1 as raw_datasets_registered
{% endmacro %}

{# Where the loader writes raw datasets: the same rule as orchestration/settings.py. #}
{% macro raw_dataset_dir() %}
    {% set warehouse = env_var('RW_WAREHOUSE_PATH',
                               'data/warehouse/referral_warehouse.duckdb') %}
    {% set beside_warehouse = (warehouse.rsplit('/', 1)[0] if '/' in warehouse else '.')
                              ~ '/raw_datasets' %}
    {{ return(env_var('RW_RAW_DATASET_DIR', beside_warehouse)) }}
{% endmacro %}
