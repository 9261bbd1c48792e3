"""The ``jwt-middleware`` command line (also ``python -m jwt_middleware``).

Commands::

    keygen              generate a signing key (JWK and PEM files with --out DIR)
    issue --sub S       sign a token
    inspect TOKEN       show a token's header and claims (verified only if given a key)
    verify TOKEN        verify a token as the app would (exit 0 valid, 1 not)
    jwks export|rotate|list --ring DIR   run a rotating key ring
    revoke --jti J --exp T | --sub S     revoke a token id or a subject in a store
    purge               drop expired store records
    audit               show records of the audit log (--sub, --kind, --since, --until)

Every command takes ``--json`` for scripts. A TOKEN argument of ``-`` is read
from stdin. Durations take ``900``, ``90s``, ``15m``, ``2h`` or ``14d``.

Defaults come from the settings the app reads, through the same parsers
(``Config.from_env()``): a key not given on the command line is the
environment's (``JWT_SECRET``, ``JWT_PRIVATE_KEY_FILE``, ...), and whatever the
key, ``JWT_ISSUER`` and ``JWT_AUDIENCE`` give ``--iss`` and ``--aud``,
``JWT_ALGORITHMS`` and ``JWT_KID`` give ``--alg`` and ``--kid``,
``JWT_ACCESS_TTL`` gives ``issue --ttl``, ``JWT_REFRESH_TTL`` gives
``revoke --max-lifetime`` and ``jwks rotate --retire-after``, ``JWT_STORE_URL``
gives ``--store``; ``verify`` applies every other verification setting too.
An option on the command line wins (see ``_defaults``).

Exit status: 0 success (a valid token, for ``verify``); 1 a token that failed
verification; 2 any error: bad arguments, files, URLs, settings, a store that
fails, a missing optional library, a TOKEN that is not a JWT at all. An error
is one line on stderr naming its cause, never a traceback, key, token or
secret; with ``--json`` it is one JSON object on stdout instead,
``{"error": ..., "reason": ..., "status": 2}`` (see ``_output``). A ``JWT_*``
name no part of the package reads (``JWT_ISSUR``) is one warning line on stderr.

The commands live by subject: ``_keys`` (keygen, jwks), ``_tokens`` (issue,
inspect, verify), ``_store`` (revoke, purge). See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn
from urllib.parse import unquote, urlsplit

from .. import ALGORITHMS, __version__
from .._core.claims import ACCESS_TYP
from . import _defaults
from ._audit import add_audit_command
from ._keys import add_rotate_options, cmd_jwks, cmd_keygen
from ._output import PROG, UsageError, as_usage_error, fail
from ._store import cmd_purge, cmd_revoke
from ._tokens import cmd_inspect, cmd_issue, cmd_verify

__all__ = ["build_parser", "main"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _duration(text: str) -> float:
    """Seconds from ``900``, ``90s``, ``15m``, ``2h`` or ``14d``."""
    value = text.strip().lower()
    scale = _UNITS.get(value[-1:], 0)
    number = value[:-1] if scale else value
    try:
        seconds = float(number) * (scale or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (try 900, 15m, 2h, 14d)"
        ) from None
    if seconds != seconds or abs(seconds) > 10 * 366 * 86400:
        raise argparse.ArgumentTypeError(f"duration out of range: {text!r}")
    return seconds


def _timestamp(text: str) -> float:
    """Seconds since the epoch from a number or an ISO 8601 date-time (UTC if no zone)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (seconds since the epoch or 2030-01-31T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


# --- the parser ---------------------------------------------------------------------


def _verification_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("verification (one key source; default: the environment's)")
    group.add_argument("--jwks", metavar="URL|FILE", help="a JWKS document (file or https URL)")
    group.add_argument("--secret", help="an HMAC secret (prefix base64: for base64 text)")
    group.add_argument("--key", metavar="FILE", help="a public key: PEM, certificate or JWK")
    group.add_argument("--alg", help="the algorithm (default: JWT_ALGORITHMS, else inferred)")
    group.add_argument("--iss", help="the issuer the token must name (default: JWT_ISSUER)")
    group.add_argument("--aud", action="append", default=[],
                       help="an accepted audience (repeatable; default: JWT_AUDIENCE)")  # fmt: skip
    group.add_argument("--leeway", type=float, default=None,
                       help="seconds of clock skew (default: JWT_LEEWAY, else 0)")  # fmt: skip


def _key_commands(sub: argparse._SubParsersAction[_Parser], common: _Parser) -> None:
    p = sub.add_parser("keygen", parents=[common], help="generate a signing key")
    p.add_argument("--alg", choices=ALGORITHMS,
                   help="(default: the first of JWT_ALGORITHMS, else ES256)")  # fmt: skip
    p.add_argument("--kid", help="key id (default: the RFC 7638 thumbprint)")
    p.add_argument("--out", metavar="DIR", help="write JWK and PEM files here")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("jwks", parents=[common], help="key ring: export, rotate, list")
    jsub = p.add_subparsers(dest="jwks_command", metavar="ACTION", parser_class=_Parser)
    jsub.required = True
    j = jsub.add_parser("export", parents=[common], help="print the public JWKS")
    j.add_argument("--ring", required=True, metavar="DIR")
    j.add_argument("--out", metavar="FILE", help="write it to FILE instead")
    j = jsub.add_parser("rotate", parents=[common], help="publish a new key")
    add_rotate_options(j, _duration)  # --ring, --alg, --activate-after, ..., --if-due
    j = jsub.add_parser("list", parents=[common], help="show the ring's keys and their state")
    j.add_argument("--ring", required=True, metavar="DIR")
    p.set_defaults(func=cmd_jwks)


def _token_commands(sub: argparse._SubParsersAction[_Parser], common: _Parser) -> None:
    p = sub.add_parser("issue", parents=[common], help="sign a token")
    p.add_argument("--sub", required=True, help="the subject (not empty)")
    p.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    p.add_argument("--scope", action="append", default=[], help="a scope (repeatable)")
    p.add_argument("--ttl", type=_duration, default=None,
                   help="lifetime (default: JWT_ACCESS_TTL, else "
                   f"{_defaults.DEFAULT_ACCESS_TTL:g} s)")  # fmt: skip
    p.add_argument("--claim", action="append", default=[], metavar="NAME=VALUE",
                   help="an extra claim; VALUE is JSON or text (repeatable)")  # fmt: skip
    p.add_argument("--iss", help="issuer (default: JWT_ISSUER, its first value)")
    p.add_argument("--aud", action="append", default=[],
                   help="audience (repeatable; default: JWT_AUDIENCE)")  # fmt: skip
    p.add_argument("--typ", default=ACCESS_TYP, help=f"header typ (default {ACCESS_TYP})")
    p.add_argument("--key", metavar="FILE",
                   help="private key: PEM or JWK (default: the app's, JWT_PRIVATE_KEY_FILE "
                   "or JWT_SECRET)")  # fmt: skip
    p.add_argument("--secret", help="HMAC secret (prefix base64: for base64 text)")
    p.add_argument("--ring", metavar="DIR", help="sign with a key ring's active key")
    p.add_argument("--alg", help="algorithm (default: JWT_ALGORITHMS, else inferred; HS256)")
    p.add_argument("--kid", help="key id for the header (default: JWT_KID, else the thumbprint)")
    p.set_defaults(func=cmd_issue)

    p = sub.add_parser("inspect", parents=[common], help="show a token's header and claims")
    p.add_argument("token", metavar="TOKEN", help="the token, or - for stdin")
    _verification_options(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("verify", parents=[common], help="verify a token (exit 0 valid, 1 not)")
    p.add_argument("token", metavar="TOKEN", help="the token, or - for stdin")
    _verification_options(p)
    p.set_defaults(func=cmd_verify)


def _store_commands(sub: argparse._SubParsersAction[_Parser], common: _Parser) -> None:
    p = sub.add_parser("revoke", parents=[common], help="revoke a token id or a subject")
    p.add_argument("--jti", help="the token id")
    p.add_argument("--exp", type=_timestamp, help="the token's expiry (keeps the entry until)")
    p.add_argument("--sub", help="revoke every token of this subject issued until now")
    p.add_argument("--max-lifetime", type=_duration, default=None,
                   help="the longest token lifetime (default: JWT_REFRESH_TTL, or "
                   "JWT_ACCESS_TTL if longer, else 14d)")  # fmt: skip
    p.add_argument("--store", metavar="URL", help="store URL (default: JWT_STORE_URL)")
    p.set_defaults(func=cmd_revoke)

    p = sub.add_parser("purge", parents=[common], help="drop expired store records")
    p.add_argument("--store", metavar="URL", help="store URL (default: JWT_STORE_URL)")
    p.set_defaults(func=cmd_purge)


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="JSON output for scripts"
    )
    parser = _Parser(
        prog=PROG, description="Tools for JSON Web Tokens protected by jwt_middleware."
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--json", action="store_true", help="JSON output for scripts")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _key_commands(sub, common)
    _token_commands(sub, common)
    _store_commands(sub, common)
    add_audit_command(sub, common, _duration, _timestamp)
    return parser


# --- running ------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    # The library's log warnings (a failed JWKS fetch, ...) reach the user as the one-line
    # error instead of through logging's last-resort handler.
    quiet = logging.NullHandler()
    library_logger = logging.getLogger("jwt_middleware")
    library_logger.addHandler(quiet)
    shown: set[str] = set()

    def show(message: Warning | str, *_: object, **__: object) -> None:
        text = " ".join(str(message).split())
        if text not in shown:  # Config.from_env() warns again about the same name
            shown.add(text)
            with contextlib.suppress(OSError, ValueError):
                print(f"{PROG}: warning: {text}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = show
            return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        library_logger.removeHandler(quiet)


def _json_mode(argv: list[str]) -> bool:
    """Whether ``--json`` was asked for, even when the arguments do not parse."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


def _secrets(argv: list[str]) -> list[str]:
    """What an error message must never repeat: ``--secret`` values, secret settings and
    the passwords of store URLs."""
    found = [os.environ.get(f"JWT_{n}", "") for n in ("SECRET", "PRIVATE_KEY")]
    urls = [os.environ.get("JWT_STORE_URL", ""), os.environ.get("JWT_AUDIT_URL", "")]
    for option, values in (("--secret", found), ("--store", urls)):
        for i, arg in enumerate(argv):
            if arg == option and i + 1 < len(argv):
                values.append(argv[i + 1])
            elif arg.startswith(option + "="):
                values.append(arg[len(option) + 1 :])
    for url in urls:
        with contextlib.suppress(ValueError):
            password = urlsplit(url).password or ""
            found += [password, unquote(password)]
    return found + [s.removeprefix("base64:") for s in found]


def _main(argv: list[str]) -> int:
    parser = build_parser()
    json_mode = _json_mode(argv)
    try:
        args = parser.parse_args(argv)
        json_mode = bool(args.json)
        if args.command is None:
            if json_mode:
                raise UsageError(f"give a COMMAND (see {PROG} --help)")
            parser.print_help()
            return 2
        _defaults.warn_unknown()  # JWT_ISSUR=... would otherwise switch a check off unseen
        status: int = args.func(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:  # `jwt-middleware jwks export ... | head`
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback for a command-line user
        return fail(as_usage_error(exc), json_mode=json_mode, secrets=_secrets(argv))
