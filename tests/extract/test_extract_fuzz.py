"""Property-based fuzzing of what extraction reads from a peer: MLLP messages and HTTP answers.

Whatever bytes an interface engine sends, the receiver's judgement never raises, answers one of
AA/AE/AR with an ACK that parses as HL7, and its reason never repeats the message's content.
Whatever a Bulk Data server puts in ``Retry-After`` or an OperationOutcome, the client reads a
bounded wait and a bounded summary of codes, never the diagnostics text.
"""

from __future__ import annotations

import json

import hl7
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.extract.bulk_data_client import outcome_summary, retry_after_seconds
from orchestration.extract.mllp_receiver import acknowledgement, judge
from tests.extract.mllp_peer import scheduling_messages

SIU = scheduling_messages(1)[0]
SECRET = "Zyxwvu Qponm"  # a name planted in the content; no reason may repeat it


def _mutations() -> st.SearchStrategy[bytes]:
    """Real SIU messages cut, spliced and salted with bytes, plus plain noise."""
    cut = st.integers(0, len(SIU)).map(lambda n: SIU[:n])
    spliced = st.tuples(st.integers(0, len(SIU)), st.binary(max_size=40)).map(
        lambda t: SIU[:t[0]] + t[1] + SECRET.encode() + SIU[t[0]:])
    return st.one_of(st.binary(max_size=300), cut, spliced,
                     st.text(max_size=200).map(lambda s: ("MSH|" + s).encode()))


@settings(max_examples=400, deadline=None)
@given(_mutations())
def test_any_bytes_get_an_answer_that_parses_and_repeats_no_content(block: bytes) -> None:
    verdict = judge(block)
    assert verdict.code in {"AA", "AE", "AR"}
    assert SECRET not in verdict.reason and len(verdict.reason) <= 80
    ack = hl7.parse(acknowledgement(verdict).decode())
    assert str(ack.segment("MSA")(1)) == verdict.code


def _response(status: int, body: bytes, headers: dict[str, str] | None = None
              ) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    return response


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=40), st.integers(0, 10**6).map(str)))
def test_any_retry_after_reads_as_a_wait_of_zero_or_more(value: str | None) -> None:
    seconds = retry_after_seconds(value, 5.0)
    assert seconds >= 0.0


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(["resourceType", "issue", "severity",
                                                       "code", "diagnostics"]), inner,
                                      max_size=4), max_leaves=20))
def test_any_operation_outcome_is_summarized_by_codes_only(document: object) -> None:
    planted = {"resourceType": "OperationOutcome",
               "issue": [{"severity": "error", "code": "exception", "diagnostics": SECRET},
                         document]}
    for body in (json.dumps(document).encode(), json.dumps(planted).encode(), b"\xff{"):
        summary = outcome_summary(_response(500, body))
        assert SECRET not in summary and len(summary) <= 250
