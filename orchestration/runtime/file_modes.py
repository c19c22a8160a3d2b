"""Files only their owner reads: the process umask, and the one copy a BI group may read.

The warehouse, its raw Parquet datasets, Dagster's home and the logs hold
a limited data set (docs/privacy.md): no other user of the machine may read them. Every
entry point that writes (the command line, a Dagster run's resources, `make dev`) sets the
umask to 077 before it creates a file, so DuckDB, Dagster, dbt and Great Expectations all
create theirs 0600 (folders 0700) without each being told. Only the BI copy is opened up, to
0640 (folders 0750), so that a BI tool's group can be given it and nothing else.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
GROUP_FILE_MODE = 0o640
GROUP_FOLDER_MODE = 0o750


def keep_files_private() -> int:
    """Make every file this process creates from now on owner-only; return the old umask."""
    return os.umask(PRIVATE_UMASK)


def share_with_group(path: Path) -> None:
    """Let the owner's group read a file or folder tree (0640 files, 0750 folders)."""
    if path.is_dir() and not path.is_symlink():
        let_group_traverse(path)
        for folder, subfolders, files in os.walk(path):
            for name in subfolders:
                let_group_traverse(Path(folder) / name)
            for name in files:
                (Path(folder) / name).chmod(GROUP_FILE_MODE)
    elif path.is_file():
        path.chmod(GROUP_FILE_MODE)


def let_group_traverse(folder: Path) -> None:
    """Let the group pass through a folder (0750) without opening what it holds to it.

    A set-group-id bit is kept: with it (`chmod g+s` on the serving folder, docs/runbook.md)
    every new publication belongs to the BI group without a chgrp per run.
    """
    folder.chmod(GROUP_FOLDER_MODE | (folder.stat().st_mode & stat.S_ISGID))
