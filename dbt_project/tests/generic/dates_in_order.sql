{#-
    Rows where the given timestamps are out of order: every column must be on or after each
    column listed before it whenever both are present (e.g. referred <= scheduled <= visit).
-#}
{% test dates_in_order(model, column_names) %}

    {%- set conditions = [] -%}
    {%- for earlier in column_names -%}
        {%- for later in column_names[loop.index:] -%}
            {%- do conditions.append("(" ~ earlier ~ " is not null and " ~ later
                                     ~ " is not null and " ~ earlier ~ " > " ~ later ~ ")") -%}
        {%- endfor -%}
    {%- endfor %}

    select *
    from {{ model }}
    where {{ conditions | join('\n        or ') }}

{% endtest %}
