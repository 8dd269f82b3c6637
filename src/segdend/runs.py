"""Run directories on disk (DESIGN.md, "Runs on disk"): atomic writes, locks, checkpoints.

Layout::

    RUN/config.toml        resolved config
    RUN/metrics.csv        one row per epoch; row 0 is the test before training
    RUN/quick_tests.csv    quick tests every ``train.quick_test_every`` examples
    RUN/events.jsonl       progress events and warnings
    RUN/recordings/*.csv   per-example recorders
    RUN/checkpoints/       npz checkpoints (weights, network state, position) + manifest.json
    RUN/params.npz         final parameters
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from segdend.errors import RunError, RunInUseError

CHECKPOINTS_KEPT = 3


def _storage_error(path: Path, error: OSError) -> RunError:
    if error.errno == errno.ENOSPC:
        return RunError(f"cannot write '{path}': the disk is full")
    if error.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return RunError(f"cannot write '{path}': permission denied (read-only location?)")
    return RunError(f"cannot write '{path}': {error.strerror or error}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename: never half-written."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _storage_error(path, error) from None


def atomic_write_text(path: Path, text: str) -> None:
    """Atomic text write."""
    atomic_write_bytes(path, text.encode("utf-8"))


def append_text(path: Path, text: str) -> None:
    """Append to a file and flush it to disk."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise _storage_error(path, error) from None


EVENTS_FILE = "events.jsonl"


def append_event(run_dir: Path, kind: str, **data: Any) -> None:
    """Append one event (a JSON line with the time and ``kind``) to ``RUN/events.jsonl``."""
    record = {"time": round(time.time(), 3), "event": kind, **data}
    append_text(Path(run_dir) / EVENTS_FILE, json.dumps(record) + "\n")


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    """The events of ``RUN/events.jsonl``, oldest first ([] if there is none).

    A line that is not a JSON object (one cut short by an interruption) is left out; use
    :attr:`segdend.Run.events` to have such a line reported instead.
    """
    path = Path(run_dir) / EVENTS_FILE
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def finished_since(run_dir: Path, since: float) -> bool:
    """Whether the run's training finished (its ``finished`` event) at ``time.time()`` ≥ since."""
    return any(e.get("event") == "finished" and float(e.get("time", 0.0)) >= since
               for e in read_events(run_dir))


def file_size(path: Path) -> int:
    """Size in bytes, 0 if absent."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def truncate_to(path: Path, size: int) -> None:
    """Cut a file back to ``size`` bytes (to drop rows written after the last checkpoint)."""
    if not path.exists():
        if size:
            raise RunError(f"'{path}' is missing but the checkpoint expects {size} bytes of it")
        return
    if file_size(path) < size:
        raise RunError(f"'{path}' is shorter than the checkpoint expects: it was damaged")
    with open(path, "r+b") as handle:
        handle.truncate(size)


def ensure_writable(directory: Path) -> None:
    """Refuse a directory whose permission bits forbid writing (also when running as root)."""
    directory = Path(directory)
    probe = directory if directory.exists() else directory.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and (probe.stat().st_mode & 0o222) == 0:
        raise RunError(f"cannot write to '{probe}': it is read-only")


def remove_stale_temporaries(run_dir: Path) -> None:
    """Delete temporary files left by a process killed in the middle of an atomic write."""
    for folder in (Path(run_dir), Path(run_dir) / "checkpoints"):
        if folder.is_dir():
            for path in folder.glob(".*.tmp"):
                path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------- lock


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_holder(run_dir: Path) -> int | None:
    """The process id of another live process that holds the run's lock, or None (no lock, a
    stale lock of a dead process, or this process's own)."""
    path = Path(run_dir) / ".lock"
    try:
        pid = int(path.read_text().strip() or "0")
    except (OSError, ValueError):
        return None
    if pid and pid != os.getpid() and _pid_alive(pid):
        return pid
    return None


class RunLock:
    """An exclusive lock on a run directory; a stale lock of a dead process is taken over."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".lock"
        self.held = False

    def acquire(self) -> None:
        """Take the lock or raise :class:`RunError` naming the process that holds it."""
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or "0")
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _pid_alive(pid):
                    raise RunInUseError(
                        f"run directory '{self.path.parent}' is in use by process {pid}", pid
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()  # stale: its process is gone
                continue
            except OSError as error:
                raise _storage_error(self.path, error) from None
            with os.fdopen(fd, "w") as handle:
                handle.write(str(os.getpid()))
            self.held = True
            return
        raise RunError(f"could not lock run directory '{self.path.parent}'")

    def release(self) -> None:
        """Remove the lock if this process holds it."""
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# --------------------------------------------------------------------------- checkpoints


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Checkpoints:
    """Checksummed npz checkpoints listed in ``manifest.json`` (newest last)."""

    def __init__(self, run_dir: Path):
        self.dir = Path(run_dir) / "checkpoints"
        self.manifest = self.dir / "manifest.json"

    def _entries(self) -> list[dict[str, Any]]:
        entries = self._read_manifest()
        return entries if entries is not None else []

    def _read_manifest(self) -> list[dict[str, Any]] | None:
        """The manifest's entries; [] if there is none yet; None if it is unreadable."""
        try:
            entries = json.loads(self.manifest.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return None
        return entries

    def save(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], label: str) -> Path:
        """Write a checkpoint; the manifest names it only once it is complete on disk."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _storage_error(self.dir, error) from None
        known = {entry.get("file") for entry in self._entries()}
        name = f"ckpt-{label}.npz"
        suffix = 0
        while name in known or (self.dir / name).exists():  # never overwrite a checkpoint
            suffix += 1
            name = f"ckpt-{label}.{suffix}.npz"
        path = self.dir / name
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        atomic_write_bytes(path, buffer.getvalue())
        entries = [e for e in self._entries() if e.get("file") != name]
        entries.append({"file": name, "sha256": sha256_file(path), "time": time.time()})
        kept, dropped = entries[-CHECKPOINTS_KEPT:], entries[:-CHECKPOINTS_KEPT]
        atomic_write_text(self.manifest, json.dumps(kept, indent=1))
        for entry in dropped:
            with contextlib.suppress(OSError):
                (self.dir / entry["file"]).unlink()
        return path

    def remove_orphans(self) -> None:
        """Delete checkpoint files the manifest does not list (a write that was interrupted)."""
        entries = self._read_manifest()
        if not self.dir.is_dir() or not entries:
            return  # keep every file when the manifest is missing or unreadable
        known = {entry.get("file") for entry in entries}
        for path in self.dir.glob("ckpt-*.npz"):
            if path.name not in known:
                path.unlink(missing_ok=True)

    def load_latest(self, warn: Any = None) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """The newest checkpoint whose checksum matches; older ones are tried after a warning."""
        entries = self._read_manifest()
        if entries is None:
            if warn is not None:
                warn(f"checkpoint manifest '{self.manifest}' is unreadable; using the newest "
                     "readable checkpoint file")
            files = sorted(self.dir.glob("ckpt-*.npz"), key=lambda p: p.stat().st_mtime)
            entries = [{"file": p.name, "sha256": sha256_file(p)} for p in files]
        for entry in reversed(entries):
            path = self.dir / str(entry.get("file", ""))
            problem = None
            if not path.is_file():
                problem = "is missing"
            elif sha256_file(path) != entry.get("sha256"):
                problem = "fails its checksum (corrupt or truncated)"
            else:
                try:
                    with np.load(path, allow_pickle=False) as data:
                        arrays = {k: np.array(data[k]) for k in data.files}
                    meta = json.loads(str(arrays.pop("meta")))
                    return arrays, meta
                except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
                    problem = f"cannot be read ({error})"
            if warn is not None:
                warn(f"checkpoint '{path}' {problem}; trying the previous one")
        return None
