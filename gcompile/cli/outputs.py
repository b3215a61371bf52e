"""What the ``gcompile`` command writes: every output checked first, then all written or none.

A command that writes files (``grad``, ``example``, ``render``, ``compare -o``,
``step-through``) collects them in an :class:`Outputs` set, then:

1. :meth:`Outputs.check` refuses, before anything is written, an output path
   that resolves to one of the command's inputs (the graph file, a
   ``--feed x=@FILE.npy``: the same file, through a symlink, ``./x`` or ``x``,
   always exit status 2), two outputs on one path, an output that is a
   directory, a parent that is a file or not writable, an unknown image
   suffix, and an image format no installed engine writes (PDF needs system
   Graphviz).
2. :meth:`Outputs.write` makes every file under a temporary name beside its
   target; only when all are made are they renamed into place.  If one fails,
   the temporary files (and directories the command created) are removed:
   never half an output set.

Existing files that are not inputs are replaced, and the ``wrote`` line says
so: ``wrote out/apple_backward.json (replaced an existing file)``.

Examples
--------
>>> import os, tempfile
>>> d = tempfile.mkdtemp()
>>> outs = Outputs(inputs=[])
>>> outs.add(os.path.join(d, "a.txt"))
>>> outs.check()
>>> [line.endswith("a.txt") for line in outs.write([lambda tmp: Path(tmp).write_text("hi")])]
[True]
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..drawing.base import SUFFIXES
from ..drawing.engines import FORMATS as ENGINE_FORMATS, find_engine
from ..errors import GraphError
from ..escape import text

__all__ = ["Outputs", "input_paths", "same_file", "image_format"]


def same_file(a, b) -> bool:
    """True when paths ``a`` and ``b`` name one file (symlinks, ``./x``, hard links).

    Examples
    --------
    >>> same_file("x.json", "./x.json"), same_file("x.json", "y.json")
    (True, False)
    """
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def input_paths(graph_arg, feed_texts) -> list:
    """The files a command reads: GRAPH when it is a file, and every ``--feed NAME=@FILE``.

    Examples
    --------
    >>> input_paths("apple", ["x=@x.npy", "y=2"])
    [PosixPath('x.npy')]
    """
    paths = [Path(graph_arg)] if graph_arg and Path(graph_arg).is_file() else []
    for feed in feed_texts or ():
        raw = feed.partition("=")[2].strip()
        if raw.startswith("@") and raw[1:]:
            paths.append(Path(raw[1:]))
    return paths


def image_format(path, option="-o") -> str:
    """The image format a file name asks for (``svg``, ``png``, ``pdf``, ``dot``).

    Examples
    --------
    >>> image_format("a.SVG"), image_format("a.gv")
    ('svg', 'dot')
    """
    fmt = SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        suffix = Path(path).suffix or "(no suffix)"
        raise GraphError(f"{option} {str(path)!r}: unknown image format {suffix!r}; use one of "
                         f"{', '.join(s for s in SUFFIXES if s != '.gv')}")
    return fmt


def _check_engine(fmt, path):
    if fmt == "dot":
        return
    name, _ = find_engine()
    if fmt not in ENGINE_FORMATS[name]:
        raise GraphError(f"cannot write {str(path)!r}: {fmt.upper()} needs system Graphviz "
                         f"(apt-get install graphviz); the installed engine {name!r} writes "
                         f"{', '.join(ENGINE_FORMATS[name])} (or use --format dot)")


def _check_parent(path: Path):
    parent = path.parent
    while not parent.exists():
        if parent == parent.parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise GraphError(f"cannot write {str(path)!r}: {str(parent)!r} is a file, not a directory")
    if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
        raise GraphError(f"cannot write {str(path)!r}: directory {str(parent)!r} is not writable")


class Outputs:
    """The files one command writes: ``add`` each, ``check`` them all, then ``write``."""

    def __init__(self, inputs=()):
        self.inputs = [Path(p) for p in inputs]
        self.items = []

    def add(self, path, image=False):
        """Plan to write ``path`` (an image when ``image``: its format and engine are checked)."""
        self.items.append((Path(path), image))

    def check(self):
        """Refuse, before any writing, everything :meth:`write` would trip over."""
        seen = []
        for path, image in self.items:
            for source in self.inputs:
                if same_file(path, source):
                    raise GraphError(f"the output {str(path)!r} is the input {str(source)!r}: "
                                     f"refusing to overwrite it; write somewhere else")
            for other in seen:
                if same_file(path, other):
                    raise GraphError(f"two outputs would be written to {str(path)!r}")
            seen.append(path)
            if path.is_dir():
                raise GraphError(f"cannot write {str(path)!r}: it is a directory")
            _check_parent(path)
            if image:
                _check_engine(image_format(path), path)

    def write(self, makers) -> list:
        """Make every file, then move them all into place; return the ``wrote ...`` lines.

        ``makers[i](tmp_path)`` writes the ``i``-th planned file to ``tmp_path``
        (a name beside it with the same suffix).
        """
        created = self._make_dirs()
        done = []
        try:
            for (path, _), make in zip(self.items, makers, strict=True):
                tmp = path.with_name(f".{path.stem}.gcompile-tmp-{os.getpid()}{path.suffix}")
                done.append((path, tmp))
                make(tmp)
        except BaseException:
            for _, tmp in done:
                tmp.unlink(missing_ok=True)
            for folder in reversed(created):
                shutil.rmtree(folder, ignore_errors=True)
            raise
        lines = []
        for path, tmp in done:
            replaced = path.exists()
            try:
                os.replace(tmp, path)
            except OSError as err:
                raise GraphError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
            lines.append(f"wrote {text(path)}" + (" (replaced an existing file)" if replaced else ""))
        return lines

    def _make_dirs(self):
        created = []
        for path, _ in self.items:
            missing = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
            for folder in reversed(missing):
                try:
                    folder.mkdir()
                except FileExistsError:
                    continue
                except OSError as err:
                    for made in reversed(created):
                        shutil.rmtree(made, ignore_errors=True)
                    raise GraphError(f"cannot create directory {str(folder)!r}: "
                                     f"{err.strerror or err}") from None
                created.append(folder)
        return created
