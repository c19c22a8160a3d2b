{#-
    The check digit an NPI's first nine digits call for: the Luhn digit of the nine digits
    prefixed with 80840 (CMS). The prefix always adds 24 to the Luhn sum; digits 1, 3, 5, 7
    and 9 are doubled (minus 9 when over 9).
-#}
{% macro npi_check_digit(column) %}
    {%- set doubled = [] -%}
    {%- set plain = [] -%}
    {%- for position in range(1, 10) -%}
        {%- set digit = "cast(substring(" ~ column ~ ", " ~ position ~ ", 1) as integer)" -%}
        {%- if position % 2 == 1 -%}
            {%- do doubled.append("case when " ~ digit ~ " < 5 then 2 * " ~ digit
                                  ~ " else 2 * " ~ digit ~ " - 9 end") -%}
        {%- else -%}
            {%- do plain.append(digit) -%}
        {%- endif -%}
    {%- endfor -%}
    mod(10 - mod(24 + {{ doubled | join(' + ') }} + {{ plain | join(' + ') }}, 10), 10)
{% endmacro %}

{#- True when the NPI is ten digits and its last digit is the right check digit. -#}
{% macro is_valid_npi(column) %}
    (
        {{ matches_digits(column, 10) }}
        and cast(substring({{ column }}, 10, 1) as integer) = {{ npi_check_digit(column) }}
    )
{% endmacro %}
