{#- Whether every referral of a month has had a window of var(window_var) days by the as-of
    moment: the month's last referral may be sent just before the next month begins, so the
    window counts from the next month's start. Only int_referral_months uses it: the closed
    month is defined there once (docs/metrics.md, "Maturity"). -#}
{% macro month_window_closed(month_column, as_of_column, window_var) %}
    ({{ dbt.dateadd('day', var(window_var),
                    dbt.dateadd('month', 1, month_column)) }} <= {{ as_of_column }})
{% endmacro %}
