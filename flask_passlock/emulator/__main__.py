"""``python -m flask_passlock.emulator``: run the Passlock emulator until interrupted."""

from __future__ import annotations

import argparse
import sys

from .server import PasslockEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flask_passlock.emulator", description="Run a local Passlock emulator."
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8787, help="port (default: %(default)s)")
    parser.add_argument(
        "--tenancy-id", default="emulator", help="tenancy ID (default: %(default)s)"
    )
    parser.add_argument("--api-key", default=None, help="API key (default: a random one, printed)")
    parser.add_argument(
        "--rp-id", default="localhost", help="WebAuthn RP ID (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    emulator = PasslockEmulator(
        tenancy_id=args.tenancy_id,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        rp_id=args.rp_id,
    )
    emulator.serve_until_interrupted()
    return 0


if __name__ == "__main__":
    sys.exit(main())
