"""Endpoints of the emulator alone (not Passlock's): minting codes without a browser, and the
development outbox an app sends its emails to."""

from __future__ import annotations

import re
import time
from html import escape

from flask import Blueprint, Response, request

from .backend import PasslockBackend
from .faults import Fault
from .outbox import OutboxMessage
from .web import answer, bearer_token, json_body, pick

#: A one-time code in an email's text, shown highlighted on the outbox page.
CODE = re.compile(r"\b\d{6}\b")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Passlock emulator outbox</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 2rem auto }}
article {{ border: 1px solid #ccc; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0 }}
h2 {{ font-size: 1.1rem; margin: .3rem 0 }}
.meta {{ color: #555; font-size: .9rem }}
pre {{ white-space: pre-wrap; font: inherit }}
mark {{ font: bold 1.2rem ui-monospace, monospace; padding: 0 .2rem }}
</style></head>
<body><h1>Outbox</h1>
<p>{count} message(s), newest first. <a href="">Refresh</a> · <a href="outbox.json">JSON</a></p>
{messages}
</body></html>
"""

MESSAGE = """<article><h2>{subject}</h2>
<p class="meta">To <strong>{to}</strong> · {time} · tenancy {tenancy}</p>
<pre>{text}</pre></article>
"""


def render_message(message: OutboxMessage) -> str:
    sent = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(message.sent_at))
    text = CODE.sub(lambda m: f"<mark>{m.group(0)}</mark>", escape(message.text))
    return MESSAGE.format(
        subject=escape(message.subject),
        to=escape(message.to),
        time=sent,
        tenancy=escape(message.tenancy_id),
        text=text,
    )


def dev_api(backend: PasslockBackend) -> Blueprint:
    api = Blueprint("dev", __name__)

    @api.before_request
    def api_key() -> None:
        tenancy = (request.view_args or {}).get("tenancy")
        if tenancy is not None and request.method != "OPTIONS":
            backend.check_api_key(tenancy, bearer_token())

    @api.post("/<tenancy>/_emulator/codes")
    def mint_code(tenancy: str) -> Response:
        """Mint a code without a browser."""
        body = json_body(optional=True)
        issued = backend.issue_code(
            username=str(body.get("username") or "user"),
            authenticator_id=body.get("authenticatorId"),
            user_verified=bool(body.get("userVerified", True)),
            platform_name=body.get("platformName"),
            tenancy_id=tenancy,
        )
        return answer(
            {
                "code": issued.code,
                "id_token": issued.id_token,
                "authenticatorId": issued.authenticator_id,
                "userId": issued.user_id,
                "principal": issued.principal,
            },
            201,
        )

    @api.post("/<tenancy>/_emulator/faults")
    def inject_fault(tenancy: str) -> Response:
        """Answer the next REST call(s) with a fault (see :meth:`Fault.as_json`)."""
        body = json_body()
        times = body.get("times", 1)
        backend.inject(Fault.from_json(body), times if isinstance(times, int) else 1)
        return answer({"_tag": "FaultInjected", "faults": len(backend.faults)}, 201)

    @api.delete("/<tenancy>/_emulator/faults")
    def clear_faults(tenancy: str) -> Response:
        backend.clear_faults()
        return answer({"_tag": "FaultsCleared"})

    @api.post("/<tenancy>/_emulator/outbox")
    def send_email(tenancy: str) -> Response:
        body = json_body()
        message = backend.send_email(tenancy, **pick(body, "to", "subject", "text", "html"))
        return answer(message.as_json(), 201)

    @api.get("/_emulator/outbox")
    def outbox_page() -> Response:
        messages = list(reversed(backend.outbox))
        html = PAGE.format(
            count=len(messages), messages="".join(render_message(m) for m in messages)
        )
        return Response(html, content_type="text/html; charset=utf-8")

    @api.get("/_emulator/outbox.json")
    def outbox_json() -> Response:
        messages = [m.as_json() for m in reversed(backend.outbox)]
        return answer({"_tag": "Outbox", "messages": messages})

    return api
