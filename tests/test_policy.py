"""The policy file: the shipped ones load, a malformed one names its bad key."""

import pytest
from conftest import DEFAULT_POLICY, DEMO_POLICY

from domain.models import SLA_CLOCKS, CaseKind, ClockName, Severity
from domain.policy import PolicyError, load_policy, parse_duration


def test_shipped_policies_carry_the_numbers_of_the_domain():
    policy = load_policy(DEFAULT_POLICY)
    complaint = [policy.clock(CaseKind.complaint, Severity.normal, n).limit for n in SLA_CLOCKS]
    assert complaint == ["1h", "24h", "72h"]  # apology 1 h, solution 24 h, result 72 h (seed 003)
    assert policy.clock(CaseKind.repair, Severity.normal, ClockName.response).basis == "working"
    assert policy.warning_at == 0.8
    assert policy.working_time.day_seconds == 7.5 * 3600  # 09:00–12:00 and 13:30–18:00
    assert policy.chain(CaseKind.complaint).recipients(3) == ["general_manager"]
    assert policy.chain(CaseKind.repair).recipients(1) == ["supervisor"]
    process = policy.process
    assert (process.reconfirm_before, process.revisit_after, process.revisit_within) == ("12h", "3d", "7d")  # 003, 001
    assert process.follow_up == "1h"  # a low score is followed up within the hour (003)
    demo = load_policy(DEMO_POLICY)
    for kind in CaseKind:
        for severity in Severity:
            for name in SLA_CLOCKS:
                assert parse_duration(demo.clock(kind, severity, name).limit) <= 30


@pytest.mark.parametrize(
    "change, key",
    [
        (('response = { limit = "1h", basis = "working" }', 'response = { limit = "soon", basis = "working" }'),
         "clocks.repair.normal.response.limit"),
        (('response = { limit = "1h", basis = "working" }', 'response = { limit = "1h", basis = "lunar" }'),
         "clocks.repair.normal.response.basis"),
        (("warning_at = 0.8", "warning_at = 1.5"), "warning_at"),
        (('hours = [["09:00", "12:00"], ["13:30", "18:00"]]', 'hours = [["09:00", "12:00"], ["11:30", "18:00"]]'),
         "working_time: Value error, working intervals 09:00:00–12:00:00 and 11:30:00–18:00:00 overlap"),
        (('days = ["mon", "tue", "wed", "thu", "fri"]', 'days = ["mon", "funday"]'), "working_time.days.1"),
        (("[clocks.installation.emergency]", "[clocks.instalation.emergency]"), "clocks.instalation"),
        (('breach = ["supervisor"]', 'breach = ["boss"]'), "escalation.default.breach.0"),
    ],
)
def test_a_malformed_policy_names_the_bad_key(tmp_path, change, key):
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    old, new = change
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy(bad)
    assert key in str(err.value)
    assert str(bad) in str(err.value)


def test_broken_toml_and_missing_file_are_clear(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("warning_at = = 0.8", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(broken)
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "missing.toml")


def test_emergency_is_detected_from_the_description():
    policy = load_policy(DEFAULT_POLICY)
    assert policy.detect_severity("厨房水管爆了，楼下漏水") == Severity.emergency
    assert policy.detect_severity("插座冒烟，有短路的味道") == Severity.emergency
    assert policy.detect_severity("衣柜门铰链松动") == Severity.normal


def test_durations():
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1d", day_seconds=27000) == 27000
    for bad in ("", "0s", "1x", "h1"):
        with pytest.raises(ValueError):
            parse_duration(bad)
