"""Rich display in Jupyter: Markdown for :class:`Explanation` and :class:`PassLog`.

The result classes call these from their ``_repr_markdown_`` methods, so a
notebook shows tables and formulas where a terminal shows ``str(result)``.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> print(explanation_markdown(gc.explain(g, feeds, "price", ["tax"])))
**∂price / ∂tax = 200** (backward pass)
<BLANKLINE>
| path | factors | product |
|---|---|---|
| price ← tax | 1 × 200 | 200 |
<BLANKLINE>
sum over 1 path: 200
"""
from __future__ import annotations

__all__ = ["explanation_markdown", "pass_log_markdown"]


def _fmt(x):
    text = f"{float(x):.6g}"
    return "0" if text == "-0" else text


def _cell(value):
    text = value if isinstance(value, str) else repr(value)
    return text.replace("|", "\\|").replace("\n", " ")


def explanation_markdown(explanation) -> str:
    """One table of chain-rule paths per ``wrt`` node of a :class:`gcompile.Explanation`."""
    out = explanation.output
    parts = []
    for term in explanation.terms:
        lines = [f"**∂{_cell(out)} / ∂{_cell(term['wrt'])} = {_fmt(term['backward'])}** "
                 f"(backward pass)", ""]
        if not term["paths"]:
            parts.append("\n".join(lines + ["no path: the derivative is 0"]))
            continue
        lines += ["| path | factors | product |", "|---|---|---|"]
        for path in term["paths"]:
            chain = " ← ".join(_cell(n) for n in path["nodes"])  # output first, as str() writes
            factors = " × ".join(_fmt(f) for f in path["factors"])
            lines.append(f"| {chain} | {factors} | {_fmt(path['product'])} |")
        n = len(term["paths"])
        head = (f"partial sum over the first {n} paths (raise max_paths)" if term["capped"]
                else f"sum over {n} path{'s' if n != 1 else ''}")
        lines += ["", f"{head}: {_fmt(term['total'])}"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def pass_log_markdown(log) -> str:
    """A :class:`gcompile.PassLog` as a table: one row per change a pass made.

    Examples
    --------
    >>> from gcompile import PassLog
    >>> print(pass_log_markdown(PassLog(before=3, after=3)))
    **passes**: 3 nodes → 3 nodes
    """
    lines = [f"**passes**: {log.before} nodes → {log.after} nodes"]
    rows = []
    for rec in log.records:
        for kind in ("folded", "aliased", "merged"):
            rows += [(rec["pass"], kind, _cell(old), _cell(new)) for old, new in rec[kind]]
        rows += [(rec["pass"], "removed", _cell(old), "") for old in rec["removed"]]
    if log.records:
        lines += ["", "| pass | nodes |", "|---|---|"]
        lines += [f"| {r['pass']} | {r['before']} → {r['after']} |" for r in log.records]
    if rows:
        lines += ["", "| pass | change | node | now |", "|---|---|---|---|"]
        lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)
