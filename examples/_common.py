"""What the examples share: configuration from the environment and a runner.

Every example reads its settings through the core's loader
(``Config.from_env``), so ``JWT_ALGORITHMS=RS256 JWT_PUBLIC_KEY_FILE=...
JWT_ISSUER=... JWT_AUDIENCE=...`` switches it to another issuer.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from jwt_middleware import Config

#: Paths every example serves without a token.
PUBLIC_PATHS = ("/public",)


def config_from_env() -> Config:
    """The example's :class:`Config`, from ``JWT_*`` environment variables."""
    return Config.from_env(environ=os.environ)


def parse_port(argv: Sequence[str] | None = None, default: int = 8000) -> tuple[str, int]:
    """``--host`` (default 127.0.0.1) and ``--port`` from the command line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default)
    args = parser.parse_args(argv)
    return args.host, args.port
