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

{#-
    True when the NPI is ten digits and its last digit is the right check digit; false for
    any other text, null for null. The digits are cast only once the text is known to be ten
    of them (a case, not an `and`: an engine may evaluate both sides of an `and`, and DuckDB
    and Postgres raise on casting a letter, which made one mistyped NPI fail the build).
-#}
{% macro is_valid_npi(column) %}
    (
        case
            when {{ matches_digits(column, 10) }}
                then cast(substring({{ column }}, 10, 1) as integer) = {{ npi_check_digit(column) }}
            when {{ column }} is not null then false
        end
    )
{% endmacro %}
