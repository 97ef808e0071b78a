"""The comité's monthly tallies, kept between requests (a cache the database can always redo).

A Paris month that is over is tallied once into `MonthCell` rows, and so is a day that is
over in a month that is not; every change that can alter a past month's figures (hiding,
restoring, moving, splitting, merging, mots-clés) bumps that month's `generation` in the same
transaction (`rollups.mark_topics_changed`; a day's too, with its month's or alone), and the
tallies count only while `computed_generation == generation`. The days not yet settled, and
the partial months at a period's edges, are always counted from the posts.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from comcep.extensions import db


class AnalyticsMonth(db.Model):
    __tablename__ = "analytics_months"

    # 'YYYY-MM', 'YYYY' (a year) or 'YYYY-MM-DD' (a settled day of a month not yet
    # settled), Paris
    month: Mapped[str] = mapped_column(String(10), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    computed_generation: Mapped[int | None] = mapped_column(Integer)


class MonthCell(db.Model):
    """One figure of a month with the members behind it, for « < 5 » across any period:
    `people` is their number capped at 5, and `sample` lists their ids while fewer than 5
    (so that cells can be united exactly: 5 or more in any cell, or the union of the lists).

    kind « topic »: topics opened in rubrique `key_id` (network_id NULL); « topic_net »:
    topics opened by members of `network_id` (key_id 0); « message »: visible messages in
    rubrique `key_id` (network_id NULL); « reply »: messages after the opening post by
    members of `network_id` (key_id 0);
    « tag »: topics opened (`items`) and messages posted (`extra`) in topics carrying mot-clé
    `key_id` (network_id NULL).
    « month » (key_id 0, network_id NULL): one in every tallied month, its visible messages in
    every rubrique, for the figures by month.

    « tag_open »: topics opened in topics carrying mot-clé `key_id`, their openers as people.

    By the month a topic was opened (network_id NULL unless said), by the topic's class
    `key_id` (`queries.reply_class`: how and from which network its first reply came):
    « asked »: topics (`items`), their askers as people; « answered »: topics with a first
    reply (`items`), within 48 h (`extra`), the first repliers as people; « crossed »: first
    replies from another network (`items`) out of those whose networks are both known
    (`extra`). By rubrique `key_id`: « solved »: topics with a retained answer, its writers as
    people; « sol_ask »: topics, their askers as people, network_id 1 for the solved ones and
    0 for the others. « answered » and « solved » cells list their delays in whole seconds
    (`delays`, in hex: `rollups.keep_delays`), so that a median over any run of months is
    exact.
    """

    __tablename__ = "analytics_month_cells"
    # A report reads each month's cells, and its MONTH_MARK cell alone (`rollups._kept_parts`).
    __table_args__ = (Index("ix_analytics_month_cells_month_kind", "month", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(10))  # as AnalyticsMonth.month
    kind: Mapped[str] = mapped_column(String(10))
    key_id: Mapped[int] = mapped_column(Integer)
    network_id: Mapped[int | None] = mapped_column(Integer)
    items: Mapped[int] = mapped_column(Integer)
    extra: Mapped[int] = mapped_column(Integer)
    people: Mapped[int] = mapped_column(Integer)
    sample: Mapped[str] = mapped_column(String(80))
    delays: Mapped[str | None] = mapped_column(Text)


class MemberMonthCount(db.Model):
    """Admissions (`joined`) and departures (`departed`) of the members of one statut and one
    network (0: none) in one Paris month, by the definitions of `queries.member_growth`.

    Kept exact by every flush that changes a member (`analytics.member_months`), so that the
    comité's member figures add up a few hundred rows instead of grouping every member.
    """

    __tablename__ = "analytics_member_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # 'YYYY-MM', Paris
    statut: Mapped[str] = mapped_column(String(10), primary_key=True)
    network_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    joined: Mapped[int] = mapped_column(Integer, default=0)
    departed: Mapped[int] = mapped_column(Integer, default=0)
