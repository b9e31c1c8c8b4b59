"""Progress lines of long loops: cadence, rate and time left, computed by hand."""

from ml.progress import Progress, duration


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_interval_with_rate_and_time_left_then_the_last():
    clock, lines = Clock(), []
    p = Progress("two_tower", total=1_000_000, log=lines.append, unit="examples", every_s=30, clock=clock)
    clock.now += 10
    p.update(100_000)  # 10 s in: no line yet
    assert lines == []
    clock.now += 20
    p.update(200_000)  # 30 s in, 300,000 done: 10,000/s, 700,000 left = 70 s
    assert lines == ["two_tower: 300,000/1,000,000 examples (30%), 10,000 examples/s, 1m10s left"]
    clock.now += 5
    p.update(100_000)  # 5 s after the last line: quiet
    assert len(lines) == 1
    clock.now += 65
    p.update(600_000)
    p.finish()  # 100 s, all done: no time left, the total time
    assert lines[-1] == "two_tower: 1,000,000/1,000,000 examples (100%), 10,000 examples/s in 1m40s"


def test_durations_read_as_hours_minutes_seconds():
    assert [duration(s) for s in (0, 59.4, 61, 3600 + 62)] == ["0s", "59s", "1m01s", "1h01m02s"]


def test_without_a_log_nothing_is_written():
    Progress("x", 10, None).update(10)
