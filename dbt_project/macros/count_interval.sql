{#-
  The exact equal-tailed interval of a count: for each row of `rows` (keyed by `keys`), the
  smallest k with P(X <= k) >= (1 - level) / 2 and the smallest with P(X <= k) >= 1 - (1 - level) / 2,
  where X is negative binomial with mean `mean` and dispersion `dispersion` (variance
  mean + dispersion x mean^2; Poisson when the dispersion is 0). The same quantiles as
  scipy.stats.nbinom.ppf and poisson.ppf (tests/test_forecast_interval.py checks them), in SQL
  every engine runs: the probability of each k is a running sum of log ratios
  p(k) / p(k-1) = mean (1 + dispersion (k - 1)) / (k (1 + dispersion x mean)) over a ladder
  of k = 0 .. mean + 10 standard deviations + 10, and the CDF a running sum of those.
  A mean of 0 gives the interval [0, 0]; a mean too large for the ladder (about 9,000 and up)
  falls back to the normal approximation, which is exact enough there.
  Returns a query with `keys`, lower_count and upper_count (bigint).
-#}
{% macro count_interval(rows, keys, mean, dispersion, level) %}
{%- set key_list = keys | join(', ') -%}
{%- set tail = ((1 - level) / 2) | round(6) -%}
{%- set ladder_top = 10000 -%}
{%- set normal_quantiles = {0.95: 1.959964, 0.99: 2.575829, 0.999: 3.290527} -%}
{%- if level not in normal_quantiles -%}
    {{ exceptions.raise_compiler_error('count_interval: level must be one of ' ~ normal_quantiles.keys() | list) }}
{%- endif -%}
{%- set z = normal_quantiles[level] -%}
{#- `mean` and `dispersion` name columns of `rows`. -#}
select
    bounded.{{ keys | join(', bounded.') }},
    cast(case
        when bounded.{{ mean }} = 0 then 0
        when bounded.{{ mean }} + 10 * bounded.spread + 10 >= {{ ladder_top }}
            then greatest(0, floor(bounded.{{ mean }} - {{ z }} * bounded.spread))
        else quantiles.lower_count
    end as {{ dbt.type_bigint() }}) as lower_count,
    cast(case
        when bounded.{{ mean }} = 0 then 0
        when bounded.{{ mean }} + 10 * bounded.spread + 10 >= {{ ladder_top }}
            then ceil(bounded.{{ mean }} + {{ z }} * bounded.spread)
        else quantiles.upper_count
    end as {{ dbt.type_bigint() }}) as upper_count
from (
    select
        {{ key_list }},
        {{ mean }},
        {{ _count_spread('', mean, dispersion) }} as spread
    from {{ rows }}
) as bounded
left join (
    select
        {{ key_list }},
        min(case when cdf >= {{ tail }} then k end) as lower_count,
        min(case when cdf >= {{ 1 - tail }} then k end) as upper_count
    from (
        select
            {{ key_list }},
            k,
            sum(exp(log_probability)) over (
                partition by {{ key_list }} order by k
                rows between unbounded preceding and current row
            ) as cdf
        from (
            select
                {{ key_list }},
                k,
                sum(log_ratio) over (
                    partition by {{ key_list }} order by k
                    rows between unbounded preceding and current row
                ) as log_probability
            from (
                select
                    counted.{{ keys | join(', counted.') }},
                    ladder.k,
                    case
                        when ladder.k = 0 and counted.{{ dispersion }} > 0
                            then -ln(1 + counted.{{ dispersion }} * counted.{{ mean }})
                            / counted.{{ dispersion }}
                        when ladder.k = 0 then -counted.{{ mean }}
                        else ln(counted.{{ mean }}) - ln(ladder.k)
                            + ln(1 + counted.{{ dispersion }} * (ladder.k - 1))
                            - ln(1 + counted.{{ dispersion }} * counted.{{ mean }})
                    end as log_ratio
                from {{ rows }} as counted
                inner join (
                    select generated_number - 1 as k
                    from ({{ dbt.generate_series(ladder_top) }}) as series
                ) as ladder
                    on ladder.k <= counted.{{ mean }} + 10 * {{ _count_spread('counted.', mean, dispersion) }} + 10
                where counted.{{ mean }} > 0
            ) as ratios
        ) as probabilities
    ) as cumulative
    group by {{ key_list }}
) as quantiles
    on {% for key in keys %}quantiles.{{ key }} = bounded.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
{% endmacro %}

{#- The standard deviation of the count: sqrt(mean x (1 + dispersion x mean)). -#}
{% macro _count_spread(prefix, mean, dispersion) -%}
    sqrt({{ prefix }}{{ mean }} * (1 + {{ prefix }}{{ dispersion }} * {{ prefix }}{{ mean }}))
{%- endmacro %}
