"""Layout engines: system Graphviz ``dot`` or the embedded ``graphviz-pure``.

gcompile builds DOT with the ``graphviz`` package and hands it to an engine:

* ``"dot"``: Graphviz installed on the system (``apt-get install graphviz``),
  used when it is on ``PATH``; it writes every format, PDF included.
* ``"graphviz-pure"``: the self-contained binary of the PyPI package
  graphviz-pure (a dependency of gcompile), so ``pip install gcompile`` alone
  renders SVG and PNG.  It writes the same bytes on every machine, which is
  why the documentation images are made with it.  It writes no PDF.

``engine="auto"`` (the default) takes ``dot`` when present, else
graphviz-pure.  The environment variable ``GCOMPILE_ENGINE`` overrides the
automatic choice (CI uses it to test the embedded engine next to ``dot``).

Examples
--------
>>> name, path = find_engine("graphviz-pure")
>>> name
'graphviz-pure'
>>> run_engine("digraph { a -> b }", "svg", engine="graphviz-pure")[:5]
b'<?xml'
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path

from ..errors import GraphError

__all__ = ["ENGINES", "FORMATS", "find_engine", "run_engine", "has_cjk_font", "warn_missing_cjk"]

#: Engine name -> formats gcompile asks it for.
FORMATS = {"dot": ("svg", "png", "pdf"), "graphviz-pure": ("svg", "png")}
ENGINES = tuple(FORMATS)

_INSTALL_DOT = ("install system Graphviz (Debian/Ubuntu: apt-get install graphviz; "
                "macOS: brew install graphviz; Windows: winget install graphviz)")


def _graphviz_pure_path():
    exe = "graphviz-pure" + (".exe" if os.name == "nt" else "")
    found = shutil.which("graphviz-pure")
    if found:
        return found
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / exe
        if folder and candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_engine(engine: str = "auto"):
    """``(name, executable path)`` of the engine to run.

    Parameters
    ----------
    engine : {"auto", "dot", "graphviz-pure"}
        ``"auto"`` honours ``GCOMPILE_ENGINE``, then prefers system ``dot``.

    Raises
    ------
    GraphError
        When the requested engine is not installed (the message says how to get it).

    Examples
    --------
    >>> find_engine("graphviz-pure")[1].endswith(("graphviz-pure", "graphviz-pure.exe"))
    True
    """
    if engine == "auto":
        engine = os.environ.get("GCOMPILE_ENGINE", "").strip() or "auto"
    if engine not in ("auto",) + ENGINES:
        raise GraphError(f"unknown engine {engine!r}; choose 'auto', 'dot' or 'graphviz-pure'")
    if engine in ("auto", "dot"):
        dot = shutil.which("dot")
        if dot:
            return "dot", dot
        if engine == "dot":
            raise GraphError(f"engine 'dot' not found on PATH: {_INSTALL_DOT}")
    pure = _graphviz_pure_path()
    if pure:
        return "graphviz-pure", pure
    raise GraphError("no Graphviz engine found: neither 'dot' on PATH nor the 'graphviz-pure' "
                     "program (pip install graphviz-pure, or " + _INSTALL_DOT + ")")


def run_engine(source: str, fmt: str, engine: str = "auto", dpi=None) -> bytes:
    """Lay out DOT ``source`` and return the ``fmt`` bytes (``svg``, ``png``, ``pdf``).

    Raises
    ------
    GraphError
        When the engine cannot write ``fmt`` (PDF with graphviz-pure) or fails.

    Examples
    --------
    >>> run_engine("digraph { a }", "png", engine="graphviz-pure")[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    name, path = find_engine(engine)
    if fmt not in FORMATS[name]:
        how = _INSTALL_DOT if name == "graphviz-pure" else "use svg, png or pdf"
        raise GraphError(f"engine {name!r} cannot write {fmt!r} (it writes "
                         f"{', '.join(FORMATS[name])}); to get {fmt.upper()}: {how}")
    args = [path, "-Kdot", f"-T{fmt}", "-q"] + ([f"-Gdpi={dpi:g}"] if dpi else [])
    try:
        done = subprocess.run(args, input=source.encode("utf-8"), capture_output=True,
                              timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise GraphError(f"engine {name!r} ({path}) could not run: {err}") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip()[:500]
        raise GraphError(f"engine {name!r} failed on {fmt!r} output "
                         f"(exit {done.returncode}): {message}")
    return done.stdout


def has_cjk_font():
    """True if fontconfig lists a font covering Korean, False if not, None if unknown.

    Examples
    --------
    >>> has_cjk_font() in (True, False, None)
    True
    """
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return None
    try:
        done = subprocess.run([fc_list, ":lang=ko", "family"], capture_output=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def _has_cjk(text: str) -> bool:
    return any("\u1100" <= ch <= "\u11ff" or "\u2e80" <= ch <= "\u9fff"
               or "\uac00" <= ch <= "\ud7af" or "\uf900" <= ch <= "\ufaff"
               or "\uff00" <= ch <= "\uffef" for ch in text)


def warn_missing_cjk(source: str, fmt: str, engine_name: str, cjk_font=None):
    """Warn when a raster image would draw CJK (Korean) labels as empty boxes.

    SVG is unaffected: the browser picks the font.  For PNG, system Graphviz
    needs a CJK font installed; graphviz-pure draws only its bundled Latin
    fonts.  Returns the warning text, or ``None`` when all is well.

    Examples
    --------
    >>> warn_missing_cjk('digraph { a [label="가격"] }', "svg", "dot") is None
    True
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     text = warn_missing_cjk('digraph { a [label="가격"] }', "png", "dot", cjk_font=False)
    >>> "fonts-noto-cjk" in text and len(caught) == 1
    True
    """
    if fmt == "svg" or fmt == "dot" or not _has_cjk(source):
        return None
    if engine_name == "graphviz-pure":
        text = ("the labels hold Korean/CJK text, which graphviz-pure draws in PNG as empty "
                "boxes (it only has Latin fonts); write SVG instead, or install system "
                "Graphviz and a CJK font (Debian/Ubuntu: apt-get install graphviz "
                "fonts-noto-cjk) and render with engine='dot'")
    else:
        if cjk_font is None:
            cjk_font = has_cjk_font()
        if cjk_font is not False:
            return None
        text = ("the labels hold Korean/CJK text but no CJK font is installed, so the "
                f"{fmt.upper()} shows empty boxes; install one (Debian/Ubuntu: apt-get install "
                "fonts-noto-cjk; Fedora: dnf install google-noto-sans-cjk-fonts) or write SVG")
    warnings.warn(text, UserWarning, stacklevel=_caller_level())
    return text


def _caller_level():
    """The ``stacklevel`` that points a warning at the first frame outside gcompile."""
    frame, level = sys._getframe(1), 1
    package = __name__.rpartition(".")[0] + "."
    while frame is not None and frame.f_globals.get("__name__", "").startswith(package):
        frame, level = frame.f_back, level + 1
    return level
