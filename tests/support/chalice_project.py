"""A copy of the project as ``chalice package`` reads it, for the packaging tests."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ignore_bytecode(_dir: str, names: list[str]) -> set[str]:
    return {name for name in names if name == "__pycache__" or name.endswith(".pyc")}


def copy_project(dest: Path) -> Path:
    """What ``chalice package`` reads: app.py, requirements.txt, chalicelib/, .chalice/ (no
    deployments), vendor/ with its symlinks kept, and every directory those symlinks point at."""
    project = dest / "project"
    project.mkdir()
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(ROOT / name, project / name)
    if (ROOT / "chalicelib").is_dir():
        shutil.copytree(ROOT / "chalicelib", project / "chalicelib", ignore=_ignore_bytecode)
    shutil.copytree(ROOT / ".chalice", project / ".chalice", ignore=shutil.ignore_patterns("deployments", "venv"))
    shutil.copytree(ROOT / "vendor", project / "vendor", symlinks=True, ignore=_ignore_bytecode)
    for link in (ROOT / "vendor").iterdir():
        if not link.is_symlink():
            continue
        target = link.resolve()
        assert target.is_relative_to(ROOT), f"vendor/{link.name} points outside the repo: {target}"
        relative = target.relative_to(ROOT)
        if (project / relative).exists():
            continue
        if target.is_dir():
            shutil.copytree(target, project / relative, ignore=_ignore_bytecode)
        else:
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(target, project / relative)
    return project
