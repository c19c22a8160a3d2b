"""HL7 v2 SIU batches: message splitting, field positions, time zones, broken messages.

The loader reads fields in DuckDB (`hl7_reader.fields_sql`); python-hl7 is the reference for
every field's position and escapes, Python's `datetime` for every timestamp, and hypothesis
draws messages and timestamps that only a parser of the standard reads right.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.ingest.pseudonymize import MRN
from orchestration.ingest.readers.hl7_reader import FIELDS, TIMESTAMP_FIELDS, split_messages
from tests.conftest import load
from tests.hl7_fields import read_fields, reference_timestamp

SCH_START = "MSH|^~\\&|A|B|C|D|20260105091500||SIU^S12|C1|P|2.5\rSCH|1|2|||||||30|min|^^30^{}"


def _timestamp(value: str) -> str | None:
    return read_fields([SCH_START.format(value)])[0]["sch_11_4"]


def test_batch_envelope_is_not_a_message() -> None:
    text = "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A\rSCH|1\nMSH|^~\\&|B\r\nSCH|2\rBTS|2\rFTS|1\r"
    assert list(split_messages(text)) == ["MSH|^~\\&|A\rSCH|1", "MSH|^~\\&|B\rSCH|2"]


def test_hl7_timestamps_become_iso_in_their_offset() -> None:
    assert _timestamp("20260120140000-0500") == "2026-01-20T14:00:00-05:00"
    assert _timestamp("202601201400") == "2026-01-20T14:00:00+00:00"
    assert _timestamp("20260120") == "2026-01-20T00:00:00+00:00"
    assert _timestamp("20260120140000.1234+0130") == "2026-01-20T14:00:00+01:30"
    assert _timestamp("tomorrow") == "tomorrow"
    assert _timestamp("20261340") == "20261340"
    assert _timestamp("20250229") == "20250229"  # not a leap year
    assert _timestamp("00010101") == "0001-01-01T00:00:00+00:00"
    assert _timestamp("00000101") == "00000101"  # no year 0 in a calendar time
    assert _timestamp("202601202400") == "202601202400"
    assert _timestamp("20260120235960") == "20260120235960"
    assert _timestamp("٢٠٢٦٠١٢٠") == "٢٠٢٦٠١٢٠"  # a DTM's digits are ASCII


# Digits where a DTM has them, sometimes one too many or out of range, with the optional
# parts present or not: every shape the regular expression and the calendar decide on.
digits = st.text(alphabet="0123456789", min_size=1, max_size=3)
timestamps = st.builds(
    lambda year, month, day, time, fraction, offset: year + month + day + time + fraction + offset,
    st.integers(0, 9999).map(lambda y: f"{y:04d}"),
    st.integers(0, 13).map(lambda m: f"{m:02d}"),
    st.integers(0, 32).map(lambda d: f"{d:02d}"),
    st.sampled_from(["", "2359", "2400", "1260", "000000", "235959", "235960", "12"]) | digits,
    st.sampled_from(["", ".1", ".123456", "."]),
    st.sampled_from(["", "+0000", "-0500", "+1345", "+05", "Z"]))


# Other text too, without the message's separators: a value the reader must leave alone.
other_text = st.text(max_size=16).filter(lambda t: not set(t) & set("|^~\\&\r\n"))


@settings(max_examples=150, deadline=None)
@given(st.lists(timestamps | other_text, min_size=1, max_size=20))
def test_timestamps_read_in_sql_equal_pythons_datetime(values: list[str]) -> None:
    fields = read_fields([SCH_START.format(value) for value in values])
    for value, read in zip(values, fields, strict=True):
        stripped = value.strip()  # as every HL7 value is read
        assert read["sch_11_4"] == (reference_timestamp(stripped) if stripped else None)


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


def _assert_fields_as_python_hl7_reads_them(messages: list[str]) -> None:
    import hl7

    for raw, ours in zip(messages, read_fields(messages), strict=True):
        reference = hl7.parse(raw)
        for name, path in FIELDS.items():
            expected = _python_hl7_field(reference, path)
            if name in TIMESTAMP_FIELDS and expected is not None:
                expected = reference_timestamp(expected)
            assert ours[name] == expected, (name, raw)


def test_fields_read_in_sql_equal_python_hl7s_reading(tmp_path) -> None:
    """The loader reads fields in DuckDB; python-hl7 is the reference it must match."""
    from tests.conftest import FIXTURES, simulate

    landing, _ = simulate(tmp_path)
    texts = [p.read_bytes().decode() for p in sorted(landing.glob("scheduling/*.hl7"))]
    texts.append((FIXTURES / "siu" / "siu_20260105.hl7").read_bytes().decode())
    messages = [m for text in texts for m in split_messages(text) if len(m) > 40]
    assert len(messages) > 100
    _assert_fields_as_python_hl7_reads_them(messages)


# Fields made of what a reader must get right: separators of the message's own choosing
# (escaped or not), repetitions, components, escape sequences, white space Python strips
# (a no-break space, an ideographic space) and text it does not.
SEPARATORS = st.sampled_from(["|^~\\&", "#$*@%", "|^~\\&#"[:5], "!:;/?"])
# Only the five delimiter escapes: python-hl7 also decodes hex data and formatting, and drops
# sequences it does not know, where the loader keeps them as written (decision 162).
PIECES = ["A", "12", "F", "S", " ", "\u00a0", "\u3000", "\t", "é", "{f}", "{c}", "{r}", "{s}",
          "{e}F{e}", "{e}S{e}", "{e}T{e}", "{e}R{e}", "{e}E{e}"]
values = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
SEGMENTS = ["SCH", "TQ1", "PID", "AIL", "AIS", "AIP", "NTE"]


@st.composite
def messages(draw) -> str:
    separators = draw(SEPARATORS)
    field, component, repetition, escape, sub = separators
    names = {"f": field, "c": component, "r": repetition, "e": escape, "s": sub}

    def fields(count: int) -> str:
        return field.join(draw(values).format(**names) for _ in range(count))

    header = f"MSH{field}{component}{repetition}{escape}{sub}{field}{fields(11)}"
    segments = draw(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6))
    return "\r".join([header, *(f"{name}{field}{fields(27)}" for name in segments)])


@settings(max_examples=120, deadline=None)
@given(st.lists(messages(), min_size=1, max_size=10))
def test_drawn_messages_read_in_sql_as_python_hl7_reads_them(drawn: list[str]) -> None:
    _assert_fields_as_python_hl7_reads_them(drawn)


def test_escape_sequences_are_decoded() -> None:
    fields = read_fields(["MSH|^~\\&|A|B\rAIL|1|A|CARD\\T\\01^^^RIVER\\F\\BEND"])[0]
    assert (fields["ail_3"], fields["ail_3_4"]) == ("CARD&01", "RIVER|BEND")


def test_messages_that_are_not_siu_say_why() -> None:
    found = read_fields(["PID|1", "MSH|^~\\&|A|B|C|D|2026||ORU^R01|1",
                         "MSH|^~\\&|A|B|C|D|2026||SIU^S12|1", "MSHA^~\\&|x",
                         "MSH|^~\\&|A|B|C|D|2026|||1\rSCH|1"])
    assert [(f["_reject_reason"], f["_reject_detail"]) for f in found] == [
        ("unparseable_message", "message does not start with an MSH segment"),
        ("unexpected_message_type", "MSH-9 is ORU, this feed takes SIU messages"),
        ("unparseable_message", "the message has no SCH segment"),
        ("unparseable_message", "message does not start with an MSH segment"),
        ("unparseable_message", "MSH-9 message type is missing")]
