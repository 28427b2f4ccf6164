"""Pagination in SQL: LIMIT/OFFSET with a COUNT of the same filtered query."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PER_PAGE = 50


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 100_000))
    except ValueError:
        return 1


def paginate(session: Session, query: Select, number: int, per_page: int = PER_PAGE,
             scalars: bool = True) -> Page:
    """One page of ``query`` (already ordered) and the total count of its rows."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    number = min(number, max(1, -(-total // per_page)))
    rows = session.execute(query.limit(per_page).offset((number - 1) * per_page))
    items = list(rows.scalars() if scalars else rows)
    return Page(items, number, per_page, total)
