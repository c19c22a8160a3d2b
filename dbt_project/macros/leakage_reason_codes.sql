{#- The leakage reasons, in the seed's order: the leakage summary has one count column per
    reason. The seed leakage_reasons is the home of the list; tests/dbt/test_project_rules.py
    proves this list and the summary's columns equal it. -#}
{% macro leakage_reason_codes() %}
    {{ return(['outbound_out_of_network', 'rejected_by_receiver', 'referral_revoked',
               'never_scheduled', 'cancelled_not_rebooked', 'no_show_not_rebooked',
               'booked_slot_passed']) }}
{% endmacro %}
