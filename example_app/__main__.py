"""``python -m example_app [--port 5000]``: run the example app (offline by default)."""

from __future__ import annotations

import argparse

from . import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m example_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    app = create_app()
    emulator = app.extensions.get("passlock_emulator")
    if emulator is not None:
        print(f" * Using the built-in Passlock emulator at {emulator.url}")
    print(f" * Open http://localhost:{args.port}/ (use 'localhost': passkeys refuse IP addresses)")
    app.run(host=args.host, port=args.port, use_reloader=False)


if __name__ == "__main__":
    main()
