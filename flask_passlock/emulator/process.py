"""The emulator in a process of its own, driven over HTTP: a Passlock that shares nothing with
the app under test (no interpreter lock, no threads, no memory), as the real service.

::

    with EmulatorProcess() as emulator:
        app.config.update(emulator.app_config())
        issued = emulator.issue_code()          # POST /{tenancy}/_emulator/codes
        emulator.inject(Fault(503, b""))         # POST /{tenancy}/_emulator/faults

It offers the part of :class:`~flask_passlock.emulator.PasslockEmulator`'s API a test drives
from outside: ``url``, ``tenancy_id``, ``api_key``, ``app_config()``, ``issue_code()``,
``inject()``, ``clear_faults()`` and ``passkeys`` (their ids).
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from typing import Any

import requests

from .backend import DEFAULT_API_KEY, DEFAULT_TENANCY_ID
from .codes import IssuedCode
from .endpoints import Endpoints
from .faults import Fault

#: Seconds to wait for the process to say where it listens.
START_TIMEOUT = 20.0


class EmulatorProcess(Endpoints):
    """``python -m flask_passlock.emulator`` on a free port, until :meth:`stop`.

    :param args: more command-line arguments (``["--state", path]``...).
    """

    def __init__(
        self,
        tenancy_id: str = DEFAULT_TENANCY_ID,
        api_key: str = DEFAULT_API_KEY,
        *,
        args: list[str] | None = None,
    ) -> None:
        self.tenancy_id = tenancy_id
        self.api_key = api_key
        self._args = list(args or [])
        self._process: subprocess.Popen[str] | None = None
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {api_key}"
        self._url = ""

    def start(self) -> EmulatorProcess:
        """Start the process and wait until it listens."""
        command = [sys.executable, "-u", "-m", "flask_passlock.emulator", "--port", "0"]
        command += ["--tenancy-id", self.tenancy_id, "--api-key", self.api_key, *self._args]
        self._process = subprocess.Popen(  # noqa: S603 - our own module, our own arguments
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines: queue.Queue[str] = queue.Queue()
        stdout = self._process.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        try:
            while not self._url:
                line = lines.get(timeout=START_TIMEOUT)
                if line.startswith("Passlock emulator on "):
                    self._url = line.split(" on ", 1)[1].split(";", 1)[0].strip()
        except queue.Empty:
            self.stop()
            raise RuntimeError("the emulator process did not start") from None
        return self

    @property
    def url(self) -> str:
        """Base URL, ending in ``/`` (once started)."""
        return self._url

    def stop(self) -> None:
        """Stop the process."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        self._session.close()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self._session.request(method, self.url + path, json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def issue_code(
        self,
        *,
        username: str = "user",
        authenticator_id: str | None = None,
        user_verified: bool = True,
        platform_name: str | None = None,
    ) -> IssuedCode:
        """Mint a code as a finished ceremony would (see ``PasslockEmulator.issue_code``)."""
        body = {
            "username": username,
            "authenticatorId": authenticator_id,
            "userVerified": user_verified,
            "platformName": platform_name,
        }
        data = self._call("POST", f"{self.tenancy_id}/_emulator/codes", body)
        return IssuedCode(
            data["code"],
            data["id_token"],
            data["authenticatorId"],
            data["userId"],
            data.get("principal") or {},
        )

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` REST calls with ``fault``."""
        self._call(
            "POST", f"{self.tenancy_id}/_emulator/faults", {**fault.as_json(), "times": times}
        )

    def clear_faults(self) -> None:
        self._call("DELETE", f"{self.tenancy_id}/_emulator/faults")

    @property
    def passkeys(self) -> dict[str, dict[str, Any]]:
        """The tenancy's passkeys by id (summaries, through the REST API)."""
        found: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            page = self._call(
                "GET", f"{self.tenancy_id}/passkeys/" + (f"?cursor={cursor}" if cursor else "")
            )
            found.update({record["id"]: record for record in page["records"]})
            cursor = page.get("cursor")
            if not cursor:
                return found

    def __repr__(self) -> str:
        return f"<EmulatorProcess {self.url or '(not started)'} {json.dumps(self.tenancy_id)}>"
