"""The scheduling system's one entity: SIU messages, read field by field from HL7 v2.

Each column's expression names a field the HL7 reader splits out
(orchestration/ingest/readers/hl7_reader.py, `FIELDS`).
"""

from __future__ import annotations

from orchestration.ingest.entities.entity_spec import HL7_SIU, Column, DriftPolicy, EntitySpec
from orchestration.ingest.entities.safe_harbor import aged_90_or_older, birth_year, zip3
from orchestration.ingest.pseudonymize import MRN

# HL7 v2 fields are positional and a receiver ignores what it does not read (fields,
# components, segments): extra ones cost nothing. Values are text; a declared field that
# does not cast to its type is an invalid value, checked for every format alike.
SIU_DRIFT = DriftPolicy(columns="discard_value", data_type="discard_row")

SIU_ENTITY = EntitySpec(
    source="scheduling", name="siu_messages",
    description="HL7 v2 SIU scheduling messages, one row per message, patient pseudonymized.",
    file_format=HL7_SIU, folder="scheduling", pattern="*.hl7", drift=SIU_DRIFT,
    columns=(
        Column("message_control_id", "msh_10", required=True,
               description="MSH-10: unique id the sender gave this message."),
        Column("message_at", "msh_7", "TIMESTAMPTZ", required=True,
               description="MSH-7: when the message was sent (UTC)."),
        Column("sending_application", "msh_3"),
        Column("sending_facility", "msh_4"),
        Column("message_type", "msh_9_1", required=True),
        Column("trigger_event", "msh_9_2", required=True,
               description="S12 booked, S13 rescheduled, S14 modified, S15 cancelled, "
                           "S17 deleted, S26 no-show."),
        Column("hl7_version", "msh_12"),
        Column("placer_appointment_id", "sch_1"),
        Column("filler_appointment_id", "coalesce(sch_2, sch_1)", required=True),
        Column("event_reason_code", "sch_6"),
        Column("appointment_reason_code", "sch_7"),
        Column("appointment_type_code", "sch_8"),
        Column("duration", "sch_9", "INTEGER"),
        Column("duration_units", "sch_10"),
        Column("slot_start_at", "coalesce(tq1_7, sch_11_4)", "TIMESTAMPTZ"),
        Column("slot_end_at", "coalesce(tq1_8, sch_11_5)", "TIMESTAMPTZ"),
        Column("filler_status_code", "sch_25"),
        Column("referral_id", "sch_26", description="SCH-26 placer order number: the referral."),
        Column("patient_mrn_key", "pid_3", pseudonymize=MRN,
               description="Keyed hash of PID-3 (MRN); joins to the EHR patient's mrn_key."),
        Column("patient_birth_year", birth_year("pid_7"), "INTEGER",
               description="Year of birth (PID-7); null for the 90 or older (Safe Harbor)."),
        Column("patient_is_aged_90_or_older", aged_90_or_older("pid_7"), "BOOLEAN",
               description="Safe Harbor's one category for ages over 89."),
        Column("patient_sex", "pid_8"),
        Column("patient_postal_code_3", zip3("pid_11_5")),
        Column("provider_npi", "aip_3"),
        Column("provider_family_name", "aip_3_2"),
        Column("provider_given_name", "aip_3_3"),
        Column("location_code", "ail_3"),
        Column("facility_code", "ail_3_4"),
        Column("service_code", "ais_3"),
    ),
)
