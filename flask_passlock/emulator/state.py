"""The optional state file: the emulator's data as JSON, rewritten atomically on every change."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

FORMAT = "flask-passlock-emulator-state"
VERSION = 1


class StateFileError(ValueError):
    """The state file cannot be read (not JSON, another format, missing fields)."""


class StateFile:
    """Reads and writes one state file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, Any] | None:
        """The saved data, or ``None`` when there is no file yet."""
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise self.error(str(exc)) from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise self.error(f"not JSON ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise self.error(f'not a state file (no "format": "{FORMAT}")')
        if data.get("version") != VERSION:
            raise self.error(f"version {data.get('version')!r}, expected {VERSION}")
        return data

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file in one step (a temporary file, then ``os.replace``)."""
        payload = json.dumps({"format": FORMAT, "version": VERSION, **data}, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(payload)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def error(self, reason: str) -> StateFileError:
        return StateFileError(
            f"Cannot load the Passlock emulator state from {self.path}: {reason}. "
            "Fix the file or delete it to start afresh."
        )
