"""Single sign-on with a published JWKS: one auth service, two resource services.

``python -m examples.sso`` starts all three on free 127.0.0.1 ports and walks
through a login, a key rotation and the tokens of both keys; see
:mod:`examples.sso.__main__` and ``docs/sso.md``.
"""
