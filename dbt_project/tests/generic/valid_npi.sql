{#- Rows whose NPI is not ten digits with a valid check digit (nulls pass). -#}
{% test valid_npi(model, column_name) %}

    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
        and not coalesce({{ is_valid_npi(column_name) }}, false)

{% endtest %}
