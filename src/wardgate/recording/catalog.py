"""Finding recordings in a directory: list them (header and footer facts), find one by id."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wardgate.recording.format import SUFFIX, FormatError
from wardgate.recording.reader import read_recording


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    file: str
    size: int
    header: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        header = self.header
        return {
            "id": self.id,
            "identity": header.get("identity", ""),
            "groups": header.get("groups", []),
            "resource": header.get("resource", ""),
            "protocol": header.get("protocol", ""),
            "client": header.get("client", ""),
            "database": header.get("database", ""),
            "policy_version": header.get("policy_version", ""),
            "started": header.get("started", ""),
            "file": self.file,
            "size": self.size,
        }


class RecordingNotFound(LookupError):
    pass


def _info(path: Path) -> SessionInfo | None:
    try:
        recording = read_recording(path, header_only=True)
        size = path.stat().st_size
    except (OSError, FormatError):
        return None
    session = str(recording.header.get("session", path.name.removesuffix(SUFFIX)))
    return SessionInfo(session, path.name, size, recording.header)


def list_sessions(directory: Path) -> list[SessionInfo]:
    """Every readable recording, newest first."""
    found = [info for path in directory.glob(f"*{SUFFIX}") if (info := _info(path))]
    return sorted(found, key=lambda info: str(info.header.get("started", "")), reverse=True)


def find_recording(directory: Path, session_id: str, allow_path: bool = False) -> Path:
    """The recording of `session_id` (a unique prefix is enough).

    With `allow_path` (the CLI, never the API) a path to a recording file works too.
    """
    given = Path(session_id)
    if allow_path and given.suffix and given.is_file():
        return given
    if not session_id or not all(c.isalnum() or c in "-_" for c in session_id):
        raise RecordingNotFound(f"no recording {session_id!r}")
    matches = sorted(directory.glob(f"{session_id}*{SUFFIX}"))
    if len(matches) != 1:
        what = "no recording" if not matches else "several recordings match"
        raise RecordingNotFound(f"{what} {session_id!r} in {directory}")
    return matches[0]
