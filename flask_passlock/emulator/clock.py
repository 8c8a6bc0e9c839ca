"""Passlock's clock as the emulator keeps it: the system's, which tests can move ahead."""

from __future__ import annotations

import threading
import time


class Clock:
    """The time the emulator judges and stamps by: codes, ceremony sessions and mailbox
    challenges expire by it, rate-limit windows pass by it, and what it issues (passkeys,
    principals, id_tokens) carries its times. :meth:`advance` moves it ahead, so that a test
    lets time pass without sleeping."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time() + self._offset

    def ms(self) -> int:
        """Milliseconds since the epoch (Passlock's unit for times in its answers)."""
        return int(self.time() * 1000)

    def advance(self, seconds: float) -> None:
        """Move the clock ahead by ``seconds`` (never back)."""
        if not seconds >= 0:
            raise ValueError("the clock only moves ahead: seconds must be 0 or more")
        with self._lock:
            self._offset += seconds
