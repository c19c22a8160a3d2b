{#-
    Every key a FHIR reference may use to name one resource (docs/sources.md, "References"):
    its literal `Type/id`, `urn:uuid:<id>`, and `Type?system|value` (and the untyped
    `?system|value`) for its first identifier, its national id (NPI, ODS, SDS: the site's
    seeds/identifier_systems.csv) and, where it has one, its NPI. `resource_id_column` is the
    id the keys resolve to (one clinician per national id), the resource's own by default.
-#}
{% macro reference_keys(relation, resource_type, id_column, npi_column=none,
                        national_column=none, resource_id_column=none) %}
    {%- set npi_system = 'http://hl7.org/fhir/sid/us-npi' -%}
    {%- set resolves_to = resource_id_column or id_column -%}
    {%- set keys = [
        (dbt.concat(["'" ~ resource_type ~ "/'", id_column]), id_column),
        (dbt.concat(["'urn:uuid:'", id_column]), id_column),
        (dbt.concat(["'" ~ resource_type ~ "?'", "identifier_key"]), "identifier_key"),
        (dbt.concat(["'?'", "identifier_key"]), "identifier_key"),
    ] -%}
    {%- if national_column -%}
        {%- do keys.append((dbt.concat(["'" ~ resource_type ~ "?'", national_column]),
                            national_column)) -%}
        {%- do keys.append((dbt.concat(["'?'", national_column]), national_column)) -%}
    {%- endif -%}
    {%- if npi_column -%}
        {%- do keys.append((dbt.concat(["'" ~ resource_type ~ "?" ~ npi_system ~ "|'",
                                        npi_column]), npi_column)) -%}
        {%- do keys.append((dbt.concat(["'?" ~ npi_system ~ "|'", npi_column]), npi_column)) -%}
    {%- endif -%}
    {%- for key, needed in keys %}
    select
        '{{ resource_type }}' as resource_type,
        {{ resolves_to }} as resource_id,
        {{ key }} as reference_key
    from {{ relation }}
    where {{ needed }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{% endmacro %}
