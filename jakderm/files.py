"""Files the tools read and write: only inside the package, only regular files, written atomically.

A resource or schema path comes from datapackage.json, which a pull request can change: it must
be relative, stay inside the package and lead to no symlink leaving it, or the tools would read
(and print, zip, rewrite) a file of the machine they run on. Reading opens without blocking and
checks that what was opened is a regular file: a FIFO in place of a CSV would otherwise hang the
run. Writing goes through a temporary file with a unique name in the target's folder, flushed to
disk, then renamed over the target, so that a reader, or a second run at the same time, sees the
old file or the new one and never half of one.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path, PurePosixPath


class Unreadable(OSError):
    """What stands at a path is not a regular file that can be read."""


def inside(root: Path, rel: object) -> str | None:
    """Why `rel` (a path from datapackage.json) is not a file path inside the package at `root`,
    or None when it is. Only the path and the symlinks on it are examined: the target is never
    opened."""
    if not isinstance(rel, str) or not rel:
        return "is not a file path"
    if "\x00" in rel or any(ord(c) < 0x20 for c in rel):
        return "holds a control character"
    if "://" in rel:
        return "is a URL: the package's files must be in the package, never fetched"
    if "\\" in rel or (len(rel) > 1 and rel[1] == ":"):
        return "is not a POSIX path (use / between folders)"
    p = PurePosixPath(rel)
    if p.is_absolute():
        return "is an absolute path; it must be relative to the package's folder"
    if ".." in p.parts:
        return "leaves the package's folder (..)"
    base = Path(os.path.realpath(root))
    try:
        target = Path(os.path.realpath(Path(root) / rel))
    except (OSError, ValueError):
        return "cannot be resolved"
    if target != base and base not in target.parents:
        return "is a symbolic link leading outside the package's folder"
    return None


def open_regular(path: Path) -> int:
    """A file descriptor open for reading on the regular file at `path`; raises FileNotFoundError
    or Unreadable (a FIFO, a directory, a device, no permission)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise Unreadable("is a directory, not a file") from None
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a device")
        raise Unreadable(f"is {kind}, not a regular file")
    os.set_blocking(fd, True)
    return fd


def read_bytes(path: Path) -> bytes:
    """The bytes of a regular file (FileNotFoundError or Unreadable otherwise)."""
    fd = open_regular(path)
    try:
        with os.fdopen(fd, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None


def describe(exc: BaseException) -> str:
    """One line for an OSError: 'Permission denied', 'No space left on device'."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace `path` by `data` all at once. Raises OSError (and leaves no temporary file)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (where the system allows a folder to be synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    # Read once: os.umask can only be read by setting it, which is not thread-safe, so cache it.
    global _UMASK
    if _UMASK is None:
        current = os.umask(0)
        os.umask(current)
        _UMASK = current
    return _UMASK


_UMASK: int | None = None
