"""Export one commit's wardgate sources to a directory, to benchmark that commit.

    .venv/bin/python -m benchmarks.common.snapshot [REV] DIR
    PYTHONPATH=DIR/src:DIR/protocols .venv/bin/python -m benchmarks.pgbench_compare

The work tree may hold edits in progress (and the editable install may already
declare plugins that are not written yet); a benchmark should measure a commit.
This runs ``git archive REV src protocols`` into DIR and writes a
``wardgate-VERSION.dist-info`` into ``DIR/src`` whose entry points are the ones in
that commit's pyproject.toml. ``importlib.metadata`` takes the first distribution of a
name on ``sys.path``, so with DIR first on ``PYTHONPATH`` the snapshot's plugins are
the ones discovered, whatever the editable install says.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import tarfile
import tomllib
from pathlib import Path

from .wardgate import REPO


def export(rev: str, target: Path) -> str:
    """Write the snapshot; returns the commit's short hash."""
    commit = _git("rev-parse", "--short", rev).strip()
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "src", "protocols"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    project = tomllib.loads(_git("show", f"{rev}:pyproject.toml"))["project"]
    _dist_info(target / "src", project)
    (target / "REVISION").write_text(commit + "\n")
    return commit


def _dist_info(where: Path, project: dict[str, object]) -> None:
    name, version = str(project["name"]), str(project["version"])
    info = where / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    groups = project.get("entry-points", {})
    assert isinstance(groups, dict)
    for group, entries in groups.items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("rev", nargs="?", default="HEAD")
    parser.add_argument("dir", type=Path)
    args = parser.parse_args()
    commit = export(args.rev, args.dir.resolve())
    d = args.dir.resolve()
    print(f"{commit} exported to {d}; run with PYTHONPATH={d}/src:{d}/protocols")


if __name__ == "__main__":
    main()
