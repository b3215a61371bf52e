"""What the simplification passes share: their log, and rebuilding a graph after a pass.

Examples
--------
>>> log = PassLog(before=9, after=6)
>>> str(log)
'passes: 9 nodes -> 6 nodes'
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import label, resolve
from .graph import from_records, plan as make_plan

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


def _is_feedable(data, fold_seed):
    return bool(data.get("feedable")) and not fold_seed


def _rebuild(graph, order, attrs, operands, alias, record):
    """The new DiGraph from per-node attrs/operands; remap graph attrs through ``alias``."""
    keys = [v for v in order if v in attrs]
    index = {v: i for i, v in enumerate(keys)}
    for v in keys:
        data = attrs[v]
        if "local" in data:
            loc = resolve(alias, data["local"])
            if loc in attrs and loc != v:
                data["local"] = loc
            else:
                del data["local"]
    out = from_records(keys, [attrs[v] for v in keys],
                       [[index[resolve(alias, u)] for u in operands.get(v, ())] for v in keys],
                       graph.graph)
    _remap_attrs(out, lambda n: resolve(alias, n))
    record["after"] = out.number_of_nodes()
    return out


def _remap_attrs(out, final):
    if "grads" in out.graph:
        out.graph["grads"] = {w: final(n) for w, n in out.graph["grads"].items()}
        for extra in ("hvp", "gradient"):
            if isinstance(out.graph.get(extra), dict):
                out.graph[extra] = {w: final(n) for w, n in out.graph[extra].items()}
        seed = out.graph.get("seed")
        if seed is not None and (seed not in out or not out.nodes[seed].get("feedable")):
            out.graph["seed"] = None
    elif out.graph.get("output") is not None:
        try:
            out.graph["output"] = final(out.graph["output"])
        except TypeError:
            pass


def _prepare(graph):
    p = make_plan(graph)
    attrs = {v: dict(graph.nodes[v]) for v in p.order}
    operands = {v: list(p.operands[v]) for v in p.ops}
    return p, attrs, operands


def _const_value(data):
    return np.asarray(data["value"])

