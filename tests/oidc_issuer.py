"""A local OIDC issuer for the doctor's tests: an RSA key made at test time, a discovery document
and JWKS served over plain HTTP on 127.0.0.1, and tokens shaped exactly like Kubernetes projected
service-account tokens (a list ``aud``, the ``kubernetes.io`` claims)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

Handler = Callable[[str, str, bytes], tuple[int, Any]]
"""(method, path, body) → (status, JSON document)."""


@contextmanager
def serve(handler: Handler, seen: list[tuple[str, str, str | None]] | None = None) -> Iterator[str]:
    """An HTTP server on a free loopback port; yields its base URL. It stops with the block. Each
    request's method, path and Authorization header go to ``seen``, when given."""

    class _Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            if seen is not None:
                seen.append((method, self.path, self.headers.get("Authorization")))
            length = int(self.headers.get("Content-Length") or 0)
            status, document = handler(method, self.path, self.rfile.read(length) if length else b"")
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Issuer:
    """Signs tokens with its own key and publishes the public half as a JWKS."""

    def __init__(self, url: str, kid: str = "key-1") -> None:
        self.url = url
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.discovery_issuer = url

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path == "/.well-known/openid-configuration":
            return 200, {"issuer": self.discovery_issuer, "jwks_uri": f"{self.url}/openid/v1/jwks"}
        if path == "/openid/v1/jwks":
            return 200, self.jwks()
        return 404, {"error": "not found"}

    def mint(
        self,
        namespace: str,
        service_account: str,
        audience: str,
        *,
        issuer: str | None = None,
        lifetime: int = 600,
        now: float | None = None,
        kid: str | None = None,
        key: Any = None,
        **overrides: Any,
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "aud": [audience],
            "exp": issued + lifetime,
            "iat": issued,
            "iss": issuer or self.url,
            "jti": "0b9a7f2e-4c1d-4e8a-9f3b-6d2c5e1a0b97",
            "kubernetes.io": {
                "namespace": namespace,
                "node": {"name": "node-1", "uid": "5f2c"},
                "pod": {"name": f"{service_account}-7d9f", "uid": "a1b2"},
                "serviceaccount": {"name": service_account, "uid": "c3d4"},
            },
            "nbf": issued,
            "sub": f"system:serviceaccount:{namespace}:{service_account}",
        }
        claims.update(overrides)
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})


def claims_of(token: str) -> Mapping[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def token_file(path: Path, namespace: str, service_account: str, audience: str, *, issuer: str) -> Path:
    """A service-account token for ``issuer`` written to ``path``, signed by a throwaway key: for the
    doctor's offline checks, which read its claims (``--check-issuer`` needs :func:`serve`)."""
    path.write_text(Issuer("http://127.0.0.1").mint(namespace, service_account, audience, issuer=issuer))
    return path
