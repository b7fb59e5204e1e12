"""Atomic file writes: a result file is either the old one or the complete new one, never half.

Everything that writes results (tracking rows, eval tables, JSON, plots) goes through these so
that a run killed mid-write leaves no truncated file behind (the temp file sits beside the
target, so `os.replace` is a rename on the same filesystem).
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import tempfile
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yields a temporary path beside `path`; on success renames it over `path`."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp = pathlib.Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(path: str | os.PathLike, payload: Any) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def check_writable_dir(folder: str | os.PathLike, what: str) -> pathlib.Path:
    """Proves, before any work is spent, that `folder` can hold new files: it is a folder
    where a file can be created, or it does not exist yet and its nearest existing ancestor is
    a folder where one can be created (then it can be made). Leaves nothing behind (the probe
    is removed; a missing folder is not created here). ValueError ``"<what> <folder>:
    <reason>"`` otherwise (`what` names the option, e.g. ``--out``)."""
    folder = pathlib.Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        which = "is an existing file" if existing == folder else f"{existing} is a file"
        raise ValueError(f"{what} {folder}: {which}, not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"{what} {folder}: cannot write there "
                         f"({err.strerror or type(err).__name__})") from None
    return folder
