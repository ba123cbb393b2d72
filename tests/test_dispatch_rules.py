"""Who may take a work order, and in which order (domain.dispatch): each rule excludes the
right people, with the reason, and the ranking is the same every time."""

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from domain.dispatch import Booking, Job, Technician, district, rank, slots, window_refusal

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = frozenset(range(6))  # Monday to Saturday


def tech(id_, skills=("plumbing",), areas=("浦东新区",), days=WEEKDAYS, hours=(time(9), time(18)), capacity=3, status="active"):
    return Technician(id_, frozenset(skills), frozenset(areas), frozenset(days), hours[0], hours[1], capacity, status)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


JOB = Job(frozenset({"plumbing"}), "浦东新区", at("2026-11-25 14:00"), at("2026-11-25 16:00"))  # a Wednesday


def verdicts(techs, bookings=(), job=JOB):
    return {c.technician_id: (c.eligible, c.reasons) for c in rank(techs, job, list(bookings), SHANGHAI, 30)}


def test_each_rule_excludes_the_right_technician_with_its_reason():
    team = [
        tech("t-ok"),
        tech("t-skill", skills=("painting",)),
        tech("t-area", areas=("徐汇区",)),
        tech("t-day", days=frozenset({0, 1})),  # Monday and Tuesday only
        tech("t-hours", hours=(time(8), time(15))),
        tech("t-full", capacity=1),
        tech("t-busy"),
        tech("t-suspended", status="suspended"),
    ]
    bookings = [
        Booking("t-full", at("2026-11-25 09:00"), at("2026-11-25 10:00"), "AS1/1"),
        Booking("t-busy", at("2026-11-25 15:00"), at("2026-11-25 17:00"), "AS2/1"),
    ]
    v = verdicts(team, bookings)
    assert [t for t, (ok, _) in v.items() if ok] == ["t-ok"]
    assert "lacks skills: plumbing" in v["t-skill"][1]
    assert "does not serve 浦东新区" in v["t-area"][1]
    assert "does not work on 2026-11-25" in v["t-day"][1]
    assert "works 08:00–15:00, not 14:00–16:00" in v["t-hours"][1]
    assert "full: 1 of 1 jobs that day" in v["t-full"][1]
    assert "booked for AS2/1 at 15:00–17:00" in v["t-busy"][1]
    assert "suspended: not assignable" in v["t-suspended"][1]
    assert v["t-ok"][1] == ["has the skills: plumbing", "serves 浦东新区", "free; 0 of 3 jobs that day"]


def test_the_least_loaded_then_the_closest_fit_comes_first_and_the_order_never_varies():
    team = [tech("t-c", skills=("plumbing", "electrical", "tiling")), tech("t-b"), tech("t-a"), tech("t-loaded")]
    bookings = [Booking("t-loaded", at("2026-11-25 09:00"), at("2026-11-25 10:00"), "AS3/1")]
    first = [c.technician_id for c in rank(team, JOB, bookings, SHANGHAI, 30)]
    assert first == ["t-a", "t-b", "t-c", "t-loaded"]  # specialists before the generalist; load last
    assert all([c.technician_id for c in rank(list(reversed(team)), JOB, bookings, SHANGHAI, 30)] == first for _ in range(5))


def test_a_job_needing_two_skills_needs_both():
    job = Job(frozenset({"plumbing", "tiling"}), "浦东新区", JOB.window_start, JOB.window_end)
    v = verdicts([tech("t-one"), tech("t-both", skills=("plumbing", "tiling"))], job=job)
    assert v["t-both"][0] and not v["t-one"][0] and "lacks skills: tiling" in v["t-one"][1]


def test_the_district_is_read_from_a_mainland_address():
    assert district("上海市浦东新区锦绣路100弄5号1201") == "浦东新区"
    assert district("广东省深圳市南山区科技园") == "南山区"
    assert district("浙江省杭州市桐庐县城南街道") == "桐庐县"
    assert district("北京市朝阳区建国路") == "朝阳区"
    assert district("阳光小区5号楼1201") is None  # a compound, not a district
    assert district("江苏省苏州市昆山市花桥镇") is None  # a county-level city: the desk names the area


def test_a_booking_sharing_one_rounded_slot_clashes_as_booking_it_would():
    # 09:30–10:15 holds the 10:00 slot, which a 10:15–10:45 job needs too.
    job = Job(frozenset({"plumbing"}), "浦东新区", at("2026-11-25 10:15"), at("2026-11-25 10:45"))
    v = verdicts([tech("t-a")], [Booking("t-a", at("2026-11-25 09:30"), at("2026-11-25 10:15"), "AS4/1")], job=job)
    assert not v["t-a"][0] and "booked for AS4/1 at 09:30–10:15" in v["t-a"][1]


def test_the_same_instant_gives_the_same_slots_whatever_its_offset():
    start = at("2026-11-25 14:00")
    for minutes in (30, 45, 90):
        for offset in (UTC, timezone(timedelta(hours=5, minutes=45)), timezone(timedelta(hours=-3, minutes=-30))):
            moved = start.astimezone(offset)
            assert slots(moved, moved + timedelta(hours=2), minutes) == slots(start, start + timedelta(hours=2), minutes)


def test_a_window_longer_than_a_working_day_is_refused():
    assert window_refusal(at("2026-11-25 08:00"), at("2026-11-25 20:00")) is None
    assert window_refusal(at("2026-11-25 08:00"), at("2062-11-25 20:00")) == "an appointment window is at most 12 hours"
    assert window_refusal(at("2026-11-25 08:00"), at("2026-11-25 08:00")) == "the appointment window must end after it starts"


def test_a_window_is_rounded_out_to_whole_slots():
    assert slots(at("2026-11-25 14:10"), at("2026-11-25 15:00"), 30) == [at("2026-11-25 14:00"), at("2026-11-25 14:30")]
    assert len(slots(JOB.window_start, JOB.window_end, 30)) == 4
    assert slots(JOB.window_start, JOB.window_start + timedelta(minutes=1), 60) == [JOB.window_start]
