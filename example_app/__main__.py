"""``python -m example_app [--port 5000]``: run the example app (offline by default)."""

from __future__ import annotations

import argparse

from werkzeug.serving import make_server

from . import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m example_app")
    parser.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=5000, help="port (default: %(default)s)")
    args = parser.parse_args()
    app = create_app()
    server = make_server(args.host, args.port, app, threaded=True)
    # Passkeys refuse IP addresses: point people at the host name, never at 127.0.0.1.
    print(f" * Example app: open http://localhost:{server.server_port}/ (Ctrl-C to stop)")
    print(" * A development server: use gunicorn or another WSGI server in production.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
