"""Files only their owner reads: what a run writes is 0600 in 0700 folders (docs/privacy.md).

The hand-made world's run writes its warehouse, raw Parquet datasets, quality results, Data
Docs and publication under one folder; the landing folder is the source systems', not ours.
"""

from __future__ import annotations

import stat
from pathlib import Path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_run_leaves_nothing_readable_by_other_users(handmade_world: Path) -> None:
    checked = 0
    for path in sorted(handmade_world.rglob("*")):
        if path.is_symlink() or "landing" in path.relative_to(handmade_world).parts:
            continue
        assert _mode(path) & 0o077 == 0, f"{path} is {oct(_mode(path))}: readable by others"
        checked += 1
    assert checked > 50
    assert _mode(handmade_world / "warehouse.duckdb") == 0o600
    assert _mode(handmade_world / "serving" / "current" / "referral_marts.duckdb") == 0o600
