{#- Whether every referral of a month has had its full leakage window by the as-of moment:
    the month's last referral may be sent just before the next month begins, so the month
    is mature once the next month's start plus var('leakage_window_days') has passed
    (docs/metrics.md, "Maturity"). -#}
{% macro month_window_closed(month_column, as_of_column) %}
    ({{ dbt.dateadd('day', var('leakage_window_days'),
                    dbt.dateadd('month', 1, month_column)) }} <= {{ as_of_column }})
{% endmacro %}
