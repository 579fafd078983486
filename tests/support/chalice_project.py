"""A copy of a Chalice project (the ingest's, or dashboard_app/) as ``chalice package`` reads it,
for the packaging tests."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ignore_bytecode(_dir: str, names: list[str]) -> set[str]:
    return {name for name in names if name == "__pycache__" or name.endswith(".pyc")}


def copy_project(dest: Path, source: Path = ROOT) -> Path:
    """What ``chalice package`` reads of the project in ``source``: app.py, requirements.txt,
    chalicelib/, .chalice/ (no deployments), vendor/ with its symlinks kept, and every directory
    those symlinks point at, at the same place relative to the copied repository."""
    repo = dest / "repo"
    project = repo / source.relative_to(ROOT)
    project.mkdir(parents=True)
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(source / name, project / name)
    if (source / "chalicelib").is_dir():
        shutil.copytree(source / "chalicelib", project / "chalicelib", ignore=_ignore_bytecode)
    shutil.copytree(source / ".chalice", project / ".chalice", ignore=shutil.ignore_patterns("deployments", "venv"))
    shutil.copytree(source / "vendor", project / "vendor", symlinks=True, ignore=_ignore_bytecode)
    for link in (source / "vendor").iterdir():
        if not link.is_symlink():
            continue
        target = link.resolve()
        assert target.is_relative_to(ROOT), f"vendor/{link.name} points outside the repo: {target}"
        relative = target.relative_to(ROOT)
        if (repo / relative).exists():
            continue
        if target.is_dir():
            shutil.copytree(target, repo / relative, ignore=_ignore_bytecode)
        else:
            (repo / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(target, repo / relative)
    return project
