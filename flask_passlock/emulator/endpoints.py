"""Where an emulator answers, and the config an app needs to use it: shared by the emulator
in this process and the one in a process of its own."""

from __future__ import annotations


class Endpoints:
    """Mixed into the emulators; they give ``url`` (ending in ``/``), ``tenancy_id`` and
    ``api_key``."""

    tenancy_id: str
    api_key: str

    @property
    def url(self) -> str:  # pragma: no cover - each emulator has its own
        raise NotImplementedError

    @property
    def client_url(self) -> str:
        """URL of the emulator's ES module (the stand-in for ``@passlock/client/safe``)."""
        return self.url + "client.js"

    def app_config(self) -> dict[str, str]:
        """The ``PASSLOCK_*`` config an app needs to use this emulator."""
        return {
            "PASSLOCK_TENANCY_ID": self.tenancy_id,
            "PASSLOCK_API_KEY": self.api_key,
            "PASSLOCK_ENDPOINT": self.url,
            "PASSLOCK_CLIENT_URL": self.client_url,
        }
