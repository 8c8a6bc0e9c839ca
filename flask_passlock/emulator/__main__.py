"""``python -m flask_passlock.emulator``: run the Passlock emulator until interrupted."""

from __future__ import annotations

import argparse
import sys

from .backend import DEFAULT_API_KEY, DEFAULT_TENANCY_ID
from .server import PasslockEmulator
from .state import StateFileError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flask_passlock.emulator", description="Run a local Passlock emulator."
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8787, help="port (default: %(default)s)")
    parser.add_argument(
        "--tenancy-id", default=DEFAULT_TENANCY_ID, help="tenancy ID (default: %(default)s)"
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="API key (default: %(default)s)")
    parser.add_argument(
        "--rp-id", default="localhost", help="WebAuthn RP ID (default: %(default)s)"
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        default=None,
        help="keep passkeys, keys and challenges in this JSON file across restarts",
    )
    args = parser.parse_args(argv)
    try:
        emulator = PasslockEmulator(
            tenancy_id=args.tenancy_id,
            api_key=args.api_key,
            host=args.host,
            port=args.port,
            rp_id=args.rp_id,
            state_file=args.state,
        )
    except StateFileError as error:
        parser.exit(2, f"{parser.prog}: {error}\n")
    emulator.serve_until_interrupted()
    return 0


if __name__ == "__main__":
    sys.exit(main())
