{#- The attribution models, one row each: the one list both attribution models read. -#}
{% macro attribution_models() %}
    {%- for model in ['first_touch', 'last_touch', 'linear'] %}
    select '{{ model }}' as attribution_model
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{% endmacro %}
