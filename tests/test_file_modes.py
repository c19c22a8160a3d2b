"""Files only their owner reads: what a run writes is 0600 in 0700 folders (docs/privacy.md).

The hand-made world's run writes its warehouse, raw Parquet datasets, quality results, Data
Docs and publication under one folder; the landing folder is the source systems', not ours.
The one exception is the BI copy, which a BI tool's group may read (0640 in 0750 folders,
and 0750 on the folders leading to it); the operational copy stays 0600.
"""

from __future__ import annotations

import stat
from pathlib import Path

from orchestration.serve.publication import BI_COPY_PARTS, OPERATIONS_FILE, current_publication


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_run_leaves_nothing_readable_by_other_users(handmade_world: Path) -> None:
    publication = current_publication(handmade_world / "serving")
    shared = [publication / part for part in BI_COPY_PARTS]
    passages = {handmade_world / "serving", publication.parent, publication}
    checked = 0
    for path in sorted(handmade_world.rglob("*")):
        if path.is_symlink() or "landing" in path.relative_to(handmade_world).parts:
            continue
        mode = _mode(path)
        if any(path == part or part in path.parents for part in shared):
            assert mode == (0o750 if path.is_dir() else 0o640), f"{path}: {oct(mode)}"
        elif path in passages:
            assert mode == 0o750, f"{path}: {oct(mode)} (the BI group passes through)"
        else:
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}: readable by others"
        checked += 1
    assert checked > 50
    assert _mode(handmade_world / "warehouse.duckdb") == 0o600
    assert _mode(publication / OPERATIONS_FILE) == 0o600
    assert _mode(publication / BI_COPY_PARTS[0]) == 0o640
