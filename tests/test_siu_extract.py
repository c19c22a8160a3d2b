"""HL7 v2 SIU batches: message splitting, field positions, time zones, broken messages."""

from __future__ import annotations

from orchestration.ingest.pseudonymize import MRN
from orchestration.ingest.readers.hl7_reader import hl7_timestamp_to_iso, split_messages
from tests.conftest import load


def test_batch_envelope_is_not_a_message() -> None:
    text = "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A\rSCH|1\nMSH|^~\\&|B\r\nSCH|2\rBTS|2\rFTS|1\r"
    assert list(split_messages(text)) == ["MSH|^~\\&|A\rSCH|1", "MSH|^~\\&|B\rSCH|2"]


def test_hl7_timestamps_become_iso_in_their_offset() -> None:
    assert hl7_timestamp_to_iso("20260120140000-0500") == "2026-01-20T14:00:00-05:00"
    assert hl7_timestamp_to_iso("202601201400") == "2026-01-20T14:00:00+00:00"
    assert hl7_timestamp_to_iso("20260120") == "2026-01-20T00:00:00+00:00"
    assert hl7_timestamp_to_iso("tomorrow") == "tomorrow"
    assert hl7_timestamp_to_iso("20261340") == "20261340"


def test_siu_messages_load_with_fields_from_the_right_positions(warehouse, landing,
                                                                 pseudonymizer) -> None:
    report = load(warehouse, landing, "scheduling_siu_messages", pseudonymizer)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (6, 3, 3)
    booked = warehouse.execute("""
        select message_control_id, trigger_event, filler_appointment_id, referral_id,
               cast(slot_start_at as varchar), cast(slot_end_at as varchar), duration,
               filler_status_code, patient_mrn_key, patient_birth_year, patient_sex,
               patient_postal_code_3, provider_npi, location_code, service_code,
               cast(message_at as varchar)
        from raw.scheduling_siu_messages where _record_number = 1""").fetchone()
    assert booked == ("MSG0001", "S12", "APT100", "REF-0000001", "2026-01-20 19:00:00+00",
                      "2026-01-20 19:30:00+00", 30, "Booked", pseudonymizer("12345", MRN), 1974,
                      "M", "399", "1234567893", "CARD01", "NP-CARD", "2026-01-05 14:15:00+00")
    rows = warehouse.execute("""select message_control_id, trigger_event, filler_status_code,
        cast(slot_start_at as varchar) from raw.scheduling_siu_messages
        order by _record_number""").fetchall()
    assert rows[1:] == [("MSG0002", "S15", "Cancelled", "2026-01-20 19:00:00+00"),
                        ("MSG0004", "S26", "Noshow", None)]


def test_broken_messages_are_quarantined_by_message_number(warehouse, landing,
                                                           pseudonymizer) -> None:
    load(warehouse, landing, "scheduling_siu_messages", pseudonymizer)
    assert warehouse.execute("""select record_number, reason, detail from raw._quarantine
        order by record_number""").fetchall() == [
        (3, "unparseable_message", "MSH-9 message type is missing"),
        (4, "unexpected_message_type", "MSH-9 is ORU, this feed takes SIU messages"),
        (6, "invalid_value", "slot_start_at is not a valid TIMESTAMPTZ"),
    ]


def _python_hl7_field(message, path: str) -> str | None:
    try:
        value = str(message[path]).strip()
    except (KeyError, IndexError):
        return None
    return value or None


def test_field_splitter_reads_every_field_as_python_hl7_does(tmp_path) -> None:
    """Our splitter replaces python-hl7 for speed; python-hl7 is the reference it must match."""
    import hl7

    from orchestration.ingest.readers.hl7_reader import FIELDS, PATHS, Message
    from tests.conftest import FIXTURES, simulate

    landing, _ = simulate(tmp_path)
    texts = [p.read_bytes().decode() for p in sorted(landing.glob("scheduling/*.hl7"))]
    texts.append((FIXTURES / "siu" / "siu_20260105.hl7").read_bytes().decode())
    messages = [m for text in texts for m in split_messages(text) if len(m) > 40]
    assert len(messages) > 100
    for raw in messages:
        ours, reference = Message(raw), hl7.parse(raw)
        every_field = ours.values()  # what the loader reads: each field split once
        for name, path in FIELDS.items():
            expected = _python_hl7_field(reference, path)
            assert ours.get(PATHS[name]) == expected == every_field[name], (name, raw)


def test_escape_sequences_are_decoded() -> None:
    from orchestration.ingest.readers.hl7_reader import FieldPath, Message

    message = Message("MSH|^~\\&|A|B\rAIL|1|A|CARD\\T\\01^^^RIVER\\F\\BEND")
    assert message.get(FieldPath.parse("AIL.F3.R1.C1")) == "CARD&01"
    assert message.get(FieldPath.parse("AIL.F3.R1.C4")) == "RIVER|BEND"
