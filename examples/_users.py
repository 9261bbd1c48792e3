"""A small user table for the examples, with passwords hashed by scrypt.

Never a plain digest: ``hashlib.scrypt`` with a per-user random salt
(n=2**14, r=8, p=1, 32-byte output), compared in constant time. Unknown
usernames are checked against a dummy hash so that timing does not tell
which usernames exist.

Demo accounts (for the examples and their tests only):

=========  ==============  ==================
username   password        roles
=========  ==============  ==================
alice      wonderland-42   admin, user
bob        builder-2026    user
=========  ==============  ==================
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from jwt_middleware import Identity

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    """(salt, scrypt hash) of ``password``."""
    salt = salt if salt is not None else os.urandom(16)
    return salt, hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)


@dataclass(frozen=True)
class User:
    username: str
    salt: bytes
    password_hash: bytes
    roles: tuple[str, ...]
    scopes: tuple[str, ...]


def _user(username: str, password: str, roles: tuple[str, ...], scopes: tuple[str, ...]) -> User:
    salt, digest = hash_password(password)
    return User(username, salt, digest, roles, scopes)


class UserTable:
    """In-memory users; ``check(username, password)`` is the credential check."""

    def __init__(self) -> None:
        self._users = {
            "alice": _user("alice", "wonderland-42", ("admin", "user"), ("orders:read",)),
            "bob": _user("bob", "builder-2026", ("user",), ("orders:read",)),
        }
        self._dummy = hash_password("dummy-password-for-timing")

    def check(self, username: str, password: str) -> Identity | None:
        """The user's :class:`Identity` when the password is right, else ``None``."""
        user = self._users.get(username)
        salt, expected = (user.salt, user.password_hash) if user else self._dummy
        _, actual = hash_password(password, salt)
        if user is None or not hmac.compare_digest(actual, expected):
            return None
        return Identity(subject=user.username, roles=user.roles, scopes=user.scopes)

    def set_password(self, username: str, password: str) -> None:
        """Change a password (the examples' password-change route)."""
        user = self._users[username]
        salt, digest = hash_password(password)
        self._users[username] = User(username, salt, digest, user.roles, user.scopes)
