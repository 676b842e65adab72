"""The demo world's hidden truth: read only by the simulation oracle, never by labelling,
training or queue code (an import-linter contract enforces this)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from labelbench.db.base import Base


class DemoTruth(Base):
    """Whether a demo country-day really was a censorship day."""

    __tablename__ = "demo_truth"

    country: Mapped[str] = mapped_column(ForeignKey("countries.code"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_censorship: Mapped[bool] = mapped_column(Boolean)
