"""What the simplification passes share: their log, and rebuilding a graph after a pass.

Examples
--------
>>> log = PassLog(before=9, after=6)
>>> str(log)
'passes: 9 nodes -> 6 nodes'
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import label

__all__ = ["PassLog"]


@dataclass
class PassLog:
    """What :func:`optimize` did: node counts and one record per pass run.

    Each record is a dict with ``pass``, ``before``, ``after`` and, as lists of
    ``[node, replacement]`` pairs or nodes, ``folded`` (became a constant),
    ``aliased`` (replaced by an operand), ``merged`` (into an equal node) and
    ``removed`` (dead).
    """

    before: int
    after: int
    records: list = field(default_factory=list)

    def __str__(self):
        lines = [f"passes: {self.before} nodes -> {self.after} nodes"]
        for rec in self.records:
            lines.append(f"  {rec['pass']}: {rec['before']} -> {rec['after']}")
            for kind in ("folded", "aliased", "merged"):
                for old, new in rec[kind]:
                    lines.append(f"    {kind} {old!r} -> {new!r}")
            for old in rec["removed"]:
                lines.append(f"    removed {old!r}")
        return "\n".join(lines)

    def to_dict(self):
        """A JSON-friendly copy (node keys as their ``repr`` when not strings)."""
        recs = [{"pass": r["pass"], "before": r["before"], "after": r["after"],
                 **{kind: [[label(a), label(b)] for a, b in r[kind]]
                    for kind in ("folded", "aliased", "merged")},
                 "removed": [label(a) for a in r["removed"]]} for r in self.records]
        return {"before": self.before, "after": self.after, "records": recs}

    def _repr_markdown_(self):
        """Jupyter shows the passes and their changes as tables."""
        from .display import pass_log_markdown
        return pass_log_markdown(self)


def _record(name, before):
    return {"pass": name, "before": before, "after": before, "folded": [], "aliased": [],
            "merged": [], "removed": []}
