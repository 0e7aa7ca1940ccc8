"""Files that hold either their old contents or their new ones - never half of each.

A training run of hours must not be lost to a Ctrl-C, a crash or a full disk while
its checkpoint or results are being written. Writing a file in place truncates it
first, so an interruption leaves a broken file *and* the previous version is gone.
Instead :func:`write_atomically`

1. writes the new contents to a temporary file in the same folder (so that the
   final rename stays on one file system);
2. flushes it and calls ``fsync``, so the bytes are on the disk;
3. renames it over the target with ``os.replace``, which is atomic: a reader
   sees the old file or the new one;
4. on POSIX, ``fsync``\\ s the folder, so the rename itself survives a power cut.

If anything fails or is interrupted before step 3, the temporary file is removed
and the target keeps its previous contents.

:func:`check_writable` is the other half of never losing work: it proves, before
hours of training, that a file can be written where the results should go.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import torch


class OutputPathError(ValueError):
    """A file cannot be written where it was asked for; the message says why."""


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk; a no-op where folders cannot be opened."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _default_file_mode() -> int:
    """The permissions a newly created file gets (0o666 less the umask, usually 0o644).

    ``tempfile`` creates its files readable by their owner only; the final file
    should look like any other the user writes.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a temporary binary file, then rename it to ``path``.

    The folder of ``path`` must exist. Returns ``path`` as a :class:`Path`.
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _default_file_mode())
        os.replace(temporary, path)
    except BaseException:  # also KeyboardInterrupt: never leave the temporary file behind
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def write_json(path: str | Path, data) -> Path:
    """Write ``data`` as indented JSON (UTF-8, trailing newline) to ``path``, atomically."""
    text = json.dumps(data, indent=2) + "\n"
    return write_atomically(path, lambda file: file.write(text.encode("utf-8")))


def save_torch(path: str | Path, obj) -> Path:
    """``torch.save(obj)`` to ``path``, atomically: an interrupted save keeps the old file."""
    return write_atomically(path, lambda file: torch.save(obj, file))


def check_writable(path: str | Path) -> Path:
    """Make sure a file can be written at ``path``, creating its missing folders.

    Raises :class:`OutputPathError` when ``path`` is a folder, when a folder on
    the way is a file or cannot be created, or when nothing can be written in the
    folder (tested by creating and removing a temporary file there, which is what
    counts - permission bits can say yes where a read-only disk says no).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{path} is a folder; give a file name inside it")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocking = next(
            (p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()), folder
        )
        raise OutputPathError(f"cannot create {path}: {blocking} is a file, not a folder") from None
    except OSError as error:
        raise OutputPathError(f"cannot create the folder {folder}: {error.strerror}") from None
    try:
        descriptor, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".probe")
    except OSError as error:
        raise OutputPathError(f"cannot write in {folder}: {error.strerror}") from None
    os.close(descriptor)
    os.unlink(probe)
    return path
