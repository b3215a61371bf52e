"""Packaging checks of .ci/run (issue 11 item 18).

``files DIST_DIR``: every file git tracks under gcompile/ (package data included) is in the
wheel and in the sdist of DIST_DIR, so a file the package needs cannot be left out.

``installed``: run by the python of a fresh virtual environment holding only the wheel, from a
directory outside the repository: gcompile is imported from site-packages, every public name
resolves, the bundled examples run.
"""
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def tracked_package_files():
    try:
        out = subprocess.run(["git", "ls-files", "gcompile"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = [str(p.relative_to(REPO)) for p in (REPO / "gcompile").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts]
    return sorted(out)


def check_files(dist):
    dist = Path(dist)
    (wheel,), (sdist,) = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as tar:
        in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    wanted = tracked_package_files()
    missing = [f"{f} (wheel)" for f in wanted if f not in in_wheel]
    missing += [f"{f} (sdist)" for f in wanted if f not in in_sdist]
    if missing:
        sys.exit("package files missing from the distributions:\n  " + "\n  ".join(missing))
    print(f"{len(wanted)} package files in {wheel.name} and {sdist.name}")


def check_installed():
    import gcompile
    where = Path(gcompile.__file__).resolve()
    if REPO in where.parents:
        sys.exit(f"gcompile imported from the repository ({where}), not from the wheel")
    missing = [name for name in gcompile.__all__ if not hasattr(gcompile, name)]
    if missing:
        sys.exit(f"public names missing from the installed package: {missing}")
    from gcompile.examples import EXAMPLES
    for name, make in EXAMPLES.items():
        g, feeds = make()
        gcompile.gradients(g, feeds, g.graph["output"], g.graph["wrt"])
    print(f"{len(gcompile.__all__)} public names and {len(EXAMPLES)} examples from {where.parent}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["files"] and len(sys.argv) == 3:
        check_files(sys.argv[2])
    elif sys.argv[1:] == ["installed"]:
        check_installed()
    else:
        sys.exit(__doc__)
