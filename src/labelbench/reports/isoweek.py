"""ISO 8601 weeks in UTC: the unit the weekly report counts labels in."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from labelbench.errors import InputError

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO 8601 week; it starts Monday 00:00 UTC and ends (exclusive) the next Monday."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W47`` (also ``2026W47``); weeks a year does not have are refused."""
        m = _WEEK.match(text or "")
        if m is None:
            raise InputError(f"bad week {text!r}: use the ISO form YYYY-Www, e.g. 2026-W47")
        year, week = int(m.group(1)), int(m.group(2))
        try:
            dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise InputError(
                f"bad week {text!r}: {year} has no ISO week {week} "
                f"(it has {cls.weeks_in_year(year)})"
            ) from None
        return cls(year, week)

    @staticmethod
    def weeks_in_year(year: int) -> int:
        """52 or 53: the ISO week of 28 December is always the year's last week."""
        return dt.date(year, 12, 28).isocalendar().week

    @classmethod
    def of(cls, day: dt.date | dt.datetime) -> IsoWeek:
        """The week a date (or an aware datetime, taken in UTC) falls in."""
        if isinstance(day, dt.datetime):
            if day.tzinfo is None:
                raise ValueError("naive datetime: give a timezone-aware (UTC) time")
            day = day.astimezone(dt.UTC).date()
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def last_complete(cls, now: dt.datetime) -> IsoWeek:
        """The latest week that has fully ended at ``now`` (UTC): ``report weekly --last-week``."""
        return cls.of(now).shifted(-1)

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.monday, dt.time(0), tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """Exclusive end: the next Monday 00:00 UTC."""
        return self.start + dt.timedelta(days=7)

    def shifted(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + dt.timedelta(weeks=weeks))

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


def resolve_week(
    week: str | None, now: dt.datetime | None = None, *, last_week: bool = False
) -> IsoWeek:
    """The ``--week`` value; else the current ISO week (reported to date) or, with
    ``last_week``, the last complete one (UTC)."""
    if week:
        return IsoWeek.parse(week)
    now = now or dt.datetime.now(dt.UTC)
    return IsoWeek.last_complete(now) if last_week else IsoWeek.of(now)
