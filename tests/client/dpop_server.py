"""A real DPoP server on 127.0.0.1 for the client tests, checking proofs with PyJWT.

``DPoPServer`` is a threaded ``http.server`` that checks every proof on its own
(an independent implementation: PyJWT's ``jwt.decode`` with the key from the
proof's ``jwk`` header), and asks for its nonce the way RFC 9449 says:

* ``/token`` (POST) is a token endpoint: a proof alone, and ``400`` with
  ``{"error": "use_dpop_nonce"}`` and ``DPoP-Nonce`` when the proof lacks the
  current nonce; else a DPoP-bound token (``token_type: DPoP``, the key's thumbprint);
* any other path is a resource: ``Authorization: DPoP <token>`` and a proof
  whose ``ath`` matches, and ``401`` with ``WWW-Authenticate: DPoP
  error="use_dpop_nonce"`` and ``DPoP-Nonce`` when the nonce is missing or stale.

``refuse_always`` turns every answer into a nonce refusal with a new nonce
(for the at-most-once retry); ``rotate_on_success`` gives a new nonce with each
success; ``answer`` forces a status, challenge and body. ``seen`` records every
request (its path, headers, body and checked claims).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms

from jwt_middleware._core.thumbprint import jwk_thumbprint


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None
    proof: str | None
    claims: dict[str, Any] | None
    header: dict[str, Any] | None
    body: bytes
    problem: str | None = None


@dataclass
class Forced:
    status: int
    challenge: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    nonce: bool = True


def _ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


class _JSONHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, body: dict[str, Any], headers: Iterable[tuple[str, str]]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Served:
    """A threaded HTTP server on a free 127.0.0.1 port, stopped by :meth:`close`."""

    url: str

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class DPoPServer(_Served):
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.refuse_always = False
        self.rotate_on_success = False
        self.answer: Forced | None = None
        self.redirect_to: str | None = None
        self._counter = itertools.count(1)
        self.nonce = self._next_nonce()
        self.issued: dict[str, str] = {}  # token -> jkt
        self._lock = threading.Lock()
        server = self

        class Handler(_JSONHandler):
            def _handle(self) -> None:
                status, answer, headers = server._decide(self, self.body())
                self.reply(status, answer, headers.items())

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._serve(Handler)

    def _next_nonce(self) -> str:
        return f"nonce-{next(self._counter)}.server"

    def _check(self, proof: str | None, method: str, path: str) -> tuple[Seen, str | None]:
        """The proof's header and claims, checked with PyJWT; the problem, if any."""
        seen = Seen(method, path, None, proof, None, None, b"")
        if proof is None:
            return seen, "no proof"
        header = jwt.get_unverified_header(proof)
        algorithm = header["alg"]
        key = get_default_algorithms()[algorithm].from_jwk(header["jwk"])
        claims = jwt.decode(proof, key=key, algorithms=[algorithm])
        seen.header, seen.claims = header, claims
        if header.get("typ") != "dpop+jwt":
            return seen, "typ"
        if claims["htm"] != method or claims["htu"] != self.url + path.partition("?")[0]:
            return seen, "htm/htu"
        return seen, None

    def _decide(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            seen, problem = self._check(handler.headers.get("DPoP"), handler.command, handler.path)
            seen.authorization = handler.headers.get("Authorization")
            seen.body = body
            seen.problem = problem
            self.seen.append(seen)
            if self.redirect_to is not None:
                return 307, {}, {"Location": self.redirect_to}
            if self.answer is not None:
                forced = self.answer
                headers = {"DPoP-Nonce": self.nonce} if forced.nonce else {}
                if forced.challenge:
                    headers["WWW-Authenticate"] = forced.challenge
                return forced.status, forced.body, headers
            if problem is not None or seen.claims is None:
                return 401, {"error": "invalid_dpop_proof", "problem": problem}, {}
            token_route = handler.path.startswith("/token")
            if self.refuse_always or seen.claims.get("nonce") != self.nonce:
                if self.refuse_always:
                    self.nonce = self._next_nonce()
                if token_route:
                    return 400, {"error": "use_dpop_nonce"}, {"DPoP-Nonce": self.nonce}
                challenge = 'DPoP error="use_dpop_nonce", error_description="a nonce is required"'
                return 401, {"error": "use_dpop_nonce"}, {
                    "WWW-Authenticate": challenge, "DPoP-Nonce": self.nonce}
            jkt = jwk_thumbprint(seen.header["jwk"]) if seen.header else ""
            headers = {}
            if self.rotate_on_success:
                self.nonce = self._next_nonce()
                headers["DPoP-Nonce"] = self.nonce
            if token_route:
                token = f"bound-{len(self.issued) + 1}"
                self.issued[token] = jkt
                return 200, {"access_token": token, "token_type": "DPoP"}, headers
            scheme, _, token = (seen.authorization or "").partition(" ")
            if scheme != "DPoP" or self.issued.get(token) != jkt:
                return 401, {"error": "invalid_token"}, {"WWW-Authenticate": "DPoP"}
            if seen.claims.get("ath") != _ath(token):
                return 401, {"error": "invalid_dpop_proof", "problem": "ath"}, {}
            return 200, {"ok": True, "jkt": jkt, "body": body.decode()}, headers


class VerifierServer(_Served):
    """A real resource and token endpoint on 127.0.0.1 whose proofs the package's own
    :class:`~jwt_middleware.DPoPVerifier` checks (server nonces on, the replay cache in memory).

    ``/token`` binds ``bound-<n>`` to the proof's key; other paths need
    ``Authorization: DPoP`` with such a token and a proof by its key. ``statuses`` records
    each answer's status.
    """

    def __init__(self) -> None:
        from jwt_middleware import DPoPNonces, DPoPVerifier, InvalidDPoPProofError

        self.nonces = DPoPNonces(b"k" * 32)
        self.verifier = DPoPVerifier(nonces=self.nonces)
        self.statuses: list[int] = []
        self.issued: dict[str, str] = {}
        server = self

        class Handler(_JSONHandler):
            def _handle(self) -> None:
                self.body()
                url = server.url + self.path
                token_route = self.path.startswith("/token")
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                status, body, headers = 200, {}, [("DPoP-Nonce", server.nonces.current())]
                try:
                    checked = server.verifier.check(
                        self.headers.get_all("DPoP") or [], method=self.command, url=url,
                        access_token=None if token_route else token,
                        jkt=None if token_route else server.issued.get(token, "-"))
                    if token_route:
                        token = f"bound-{len(server.issued) + 1}"
                        server.issued[token] = checked.jkt
                        body = {"access_token": token, "token_type": "DPoP"}
                    elif scheme != "DPoP":
                        status, body = 401, {"error": "invalid_token"}
                    else:
                        body = {"jkt": checked.jkt}
                except InvalidDPoPProofError as error:
                    status = 400 if token_route else error.status
                    body = {"error": error.error}
                    headers = [(n, v) for n, v in error.headers() if n.lower() != "content-type"]
                server.statuses.append(status)
                self.reply(status, body, headers)

            do_GET = do_POST = _handle

        self._serve(Handler)
