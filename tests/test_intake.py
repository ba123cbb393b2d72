"""The intake: phones, channels, required fields, with messages that name the field."""

import pytest
from conftest import sample_intake
from pydantic import ValidationError

from domain.models import normalize_phone


@pytest.mark.parametrize(
    "raw, normal",
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("021-12345678", "021-12345678"),
        ("(0755) 12345678", "0755-12345678"),
        ("01087654321", "010-87654321"),
        ("021-12345678-801", "021-12345678-801"),
    ],
)
def test_mainland_phones_are_accepted_and_normalised(raw, normal):
    assert normalize_phone(raw) == normal


@pytest.mark.parametrize("raw", ["12345", "1381234567", "23812345678", "021-0123456", "phone", "+1 415 555 0100"])
def test_other_numbers_are_refused(raw):
    with pytest.raises(ValueError, match="not a mainland China phone number|only digits"):
        normalize_phone(raw)


def test_errors_name_the_field():
    with pytest.raises(ValidationError) as err:
        sample_intake(phone="12345", channel="fax", attachments=["not a url"])
    fields = {e["loc"][0] for e in err.value.errors()}
    assert fields == {"phone", "channel", "attachments"}


def test_blank_text_is_refused_and_unknown_fields_too():
    with pytest.raises(ValidationError) as err:
        sample_intake(description="   ", customer_email="x@example.com")
    fields = {e["loc"][0] for e in err.value.errors()}
    assert fields == {"description", "customer_email"}


def test_phones_typed_into_notes_never_reach_the_workflow():
    from domain import steps
    from domain.case import EscalateInput

    note = steps.AddNote(note="已电话联系 138 1234 5678，备用 021-12345678；型号 A2024-1180，订单 20261122")
    assert note.note == "已电话联系 [电话]，备用 [电话]；型号 A2024-1180，订单 20261122"
    assert steps.RejectWork(reasons="call 13812345678").reasons == "call [电话]"
    assert EscalateInput(reason="客户+8613812345678再次来电").reason == "客户[电话]再次来电"


def test_only_a_complaint_can_be_major():
    assert sample_intake(kind="complaint", major=True).major
    with pytest.raises(ValidationError, match="only a complaint can be major"):
        sample_intake(kind="repair", major=True)
