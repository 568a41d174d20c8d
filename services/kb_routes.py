"""Which team owns a section: kb.yaml `routes` by heading or category, then front matter, then the category's team.

A route's pattern is matched (fnmatch, ignoring case) against every heading of a section's path and against its
category id; the deepest matching heading wins, a category match ranks below any heading, and on a tie the route
written first wins. A FAQ entry's own `department:` always wins; routes see its question and its `section:`.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from services.kb_config import Category, Route
from services.kb_model import Section, SectionKind

_CATEGORY_DEPTH = 0


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def _matches(pattern: str, value: str) -> bool:
    """fnmatch ignoring case; the pattern written out literally also matches (`[공지] 안내`)."""
    value = _fold(value)
    return value == pattern or fnmatchcase(value, pattern)


def match_depth(route: Route, section: Section) -> int | None:
    """How specific the route's match on this section is (heading depth, 0 for the category), or None."""
    pattern = _fold(route.pattern)
    headings: list[tuple[int, str]] = list(enumerate(section.title_path, 1))
    if section.related_heading:
        headings.append((len(section.title_path), section.related_heading))
    depths = [depth for depth, heading in headings if _matches(pattern, heading)]
    if depths:
        return max(depths)
    if section.category and _matches(pattern, section.category):
        return _CATEGORY_DEPTH
    return None


def routed_department(routes: Sequence[Route], section: Section) -> str | None:
    """The department of the most specific route matching the section (first written wins a tie)."""
    best: tuple[int, int, str] | None = None
    for order, route in enumerate(routes):
        depth = match_depth(route, section)
        if depth is not None and (best is None or (depth, -order) > best[:2]):
            best = (depth, -order, route.department)
    return best[2] if best else None


def apply_routes(
    sections: Iterable[Section], routes: Sequence[Route], categories: Sequence[Category]
) -> tuple[list[Section], list[Route]]:
    """Every section with its owning department resolved, and the routes that matched nothing."""
    by_category = {c.id: c.department for c in categories if c.department}
    out: list[Section] = []
    for section in sections:
        own = section.department if section.kind is SectionKind.FAQ else None
        department = own or routed_department(routes, section) or section.department
        department = department or by_category.get(section.category or "")
        out.append(section if department == section.department else dataclasses.replace(section, department=department))
    unused = [r for r in routes if not any(match_depth(r, s) is not None for s in out)]
    return out, unused
