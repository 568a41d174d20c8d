"""Per-voter ordering: one user's votes on one message land in the order given, even while the first one waits
for its message to be stored (another replica's exchange may still be on its way)."""

from __future__ import annotations

import collections
from typing import Generic, Protocol, TypeVar

from services.persist_ops import Voter, WriteOp


class HasOp(Protocol):
    """A queued entry carrying a write."""

    @property
    def op(self) -> WriteOp: ...


E = TypeVar("E", bound=HasOp)


class VoterLines(Generic[E]):
    """A line per voter whose first vote is waiting: later votes of that voter queue behind it."""

    def __init__(self) -> None:
        self._lines: dict[Voter, collections.deque[E]] = {}

    def __len__(self) -> int:
        """Votes waiting behind the first of their line."""
        return sum(len(line) - 1 for line in self._lines.values())

    def _line(self, entry: E) -> tuple[Voter | None, collections.deque[E] | None]:
        voter = entry.op.voter
        return voter, (self._lines.get(voter) if voter is not None else None)

    def behind(self, entry: E) -> bool:
        """True (and `entry` queued in its line) when an earlier vote of the same voter is still waiting."""
        _, line = self._line(entry)
        if line is not None and line[0] is not entry:
            line.append(entry)
            return True
        return False

    def hold(self, entry: E) -> None:
        """`entry` waits for its message: its voter's later votes wait behind it."""
        voter, line = self._line(entry)
        if voter is not None and line is None:
            self._lines[voter] = collections.deque([entry])

    def release(self, entry: E) -> E | None:
        """Done with `entry` (stored, given up, rejected): the next vote of its line, if any, goes now."""
        voter, line = self._line(entry)
        if voter is None or not line or line[0] is not entry:
            return None
        line.popleft()
        if line:
            return line[0]
        del self._lines[voter]
        return None

    def take(self, entry: E) -> list[E]:
        """`entry` with the votes waiting behind it, removed from the lines (to be spilled together, in order)."""
        voter, line = self._line(entry)
        if voter is None or not line or line[0] is not entry:
            return [entry]
        del self._lines[voter]
        return list(line)

    def drain_behind(self) -> list[E]:
        """Every vote waiting behind the first of its line (the first ones are the caller's), lines cleared."""
        left = [entry for line in self._lines.values() for entry in list(line)[1:]]
        self._lines.clear()
        return left
