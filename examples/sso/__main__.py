"""``python -m examples.sso``: single sign-on and a key rotation, end to end, on real HTTP.

Starts, each in its own process on a free 127.0.0.1 port:

* ``auth`` (:mod:`examples.sso.auth_service`, FastAPI under uvicorn): logs
  users in, signs with a key ring in a temporary directory, publishes its
  JWKS and discovery document;
* ``orders`` (:mod:`examples.sso.orders_service`, Flask under gunicorn) and
  ``profile`` (:mod:`examples.sso.profile_service`, FastAPI under uvicorn):
  they know only the issuer's name and its JWKS URL.

Then: one login works on both resource services; an admin rotates the ring
(``activate_after=0``); a new login carries the new ``kid`` and both
services accept it without a restart (their JWKS client refetches on the
unknown ``kid``); the token of the old key still works until that key
retires. Every request is printed with its status; the exit status is 1 as
soon as a step answers otherwise than expected. All services are stopped
and the temporary directory removed at the end.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from examples.sso._run import (
    Transcript,
    check,
    expect,
    free_ports,
    gunicorn,
    kid_of,
    service,
    uvicorn,
)

ALICE = {"username": "alice", "password": "wonderland-42"}
BOB = {"username": "bob", "password": "builder-2026"}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jwt-middleware-sso-") as tmp:
        logs = Path(tmp)
        ring = logs / "ring"
        ports = dict(zip(("auth", "orders", "profile"), free_ports(3), strict=True))
        issuer = f"http://127.0.0.1:{ports['auth']}"
        env = {"SSO_ISSUER": issuer, "SSO_RING_DIR": str(ring),
               "SSO_JWKS_URI": issuer + "/.well-known/jwks.json"}
        print("jwt_middleware single sign-on demo")
        print(f"  auth:    {issuer}  (FastAPI/uvicorn: logs in, signs, publishes its JWKS)")
        print(f"  orders:  http://127.0.0.1:{ports['orders']}  "
              "(Flask/gunicorn: trusts the auth service's JWKS URL only)")
        print(f"  profile: http://127.0.0.1:{ports['profile']}  "
              "(FastAPI/uvicorn: trusts the auth service's JWKS URL only)")
        print("  key ring: ES256, in a temporary directory")
        with (
            service("auth", uvicorn("examples.sso.auth_service:app", ports["auth"]),
                    ports["auth"], env, logs) as auth,
            service("orders", gunicorn("examples.sso.orders_service:app", ports["orders"]),
                    ports["orders"], env, logs) as orders,
            service("profile", uvicorn("examples.sso.profile_service:app", ports["profile"]),
                    ports["profile"], env, logs) as profile,
        ):
            run(Transcript({"auth": auth.url, "orders": orders.url, "profile": profile.url}))
    print("\nall services stopped, temporary files removed.")


def run(t: Transcript) -> None:
    print("\n--- the auth service publishes its keys")
    a = t.call("discovery: who the issuer is and where its keys are", "auth", "GET",
               "/.well-known/openid-configuration")
    expect(a, 200, "the discovery document")
    a = t.call("the JWKS (public keys only)", "auth", "GET", "/.well-known/jwks.json")
    expect(a, 200, "the JWKS")
    old_kids = [k["kid"] for k in a.body["keys"]]
    t.note(f"kids: {old_kids}   Cache-Control: {a.headers.get('Cache-Control')}")
    check(all("d" not in k for k in a.body["keys"]), "the JWKS holds a private key member")

    print("\n--- one login, two services")
    a = t.call("orders without a token is refused", "orders", "GET", "/whoami")
    expect(a, 401, "orders without a token")
    a = t.call("alice logs in at the auth service", "auth", "POST", "/login", body=ALICE,
               show=["access_token", "token_type", "expires_in"])
    expect(a, 200, "alice's login")
    first = a.body["access_token"]
    t.note(f"token signed with kid {kid_of(first)}")
    a = t.call("alice's token on orders (Flask)", "orders", "GET", "/whoami", token=first)
    expect(a, 200, "orders with alice's token")
    a = t.call("the same token on profile (FastAPI)", "profile", "GET", "/whoami", token=first)
    expect(a, 200, "profile with alice's token")

    print("\n--- key rotation, no restart")
    a = t.call("bob logs in", "auth", "POST", "/login", body=BOB, show=["token_type"])
    expect(a, 200, "bob's login")
    a = t.call("bob may not rotate keys (not an admin)", "auth", "POST", "/admin/rotate",
               token=a.body["access_token"])
    expect(a, 403, "rotation by bob")
    a = t.call("alice (admin) rotates the key ring, activate_after=0", "auth", "POST",
               "/admin/rotate", token=first)
    expect(a, 200, "rotation by alice")
    new_kid = a.body["signing_kid"]
    check(new_kid not in old_kids, "the rotation produced no new key")
    a = t.call("the JWKS now publishes both keys", "auth", "GET", "/.well-known/jwks.json")
    expect(a, 200, "the JWKS after rotation")
    kids = [k["kid"] for k in a.body["keys"]]
    t.note(f"kids: {kids}")
    check(kids == [new_kid, *old_kids], "the JWKS does not list the new key first")
    a = t.call("alice logs in again", "auth", "POST", "/login", body=ALICE,
               show=["access_token", "token_type", "expires_in"])
    expect(a, 200, "alice's second login")
    second = a.body["access_token"]
    t.note(f"token signed with kid {kid_of(second)} (new key)")
    check(kid_of(second) == new_kid, "the new login is not signed with the new key")
    a = t.call("new-key token on orders: unknown kid, so it refetches the JWKS",
               "orders", "GET", "/whoami", token=second)
    expect(a, 200, "orders with the new-key token")
    a = t.call("new-key token on profile: the same", "profile", "GET", "/whoami", token=second)
    expect(a, 200, "profile with the new-key token")
    a = t.call("the old-key token still works on orders (not retired yet)", "orders", "GET",
               "/whoami", token=first)
    expect(a, 200, "orders with the old-key token")
    a = t.call("and on profile", "profile", "GET", "/whoami", token=first)
    expect(a, 200, "profile with the old-key token")
    a = t.call("a tampered token is refused", "profile", "GET", "/whoami",
               token=second[:-4] + ("AAAA" if not second.endswith("AAAA") else "BBBB"))
    expect(a, 401, "profile with a tampered token")
    print("\nall steps answered as expected.")


if __name__ == "__main__":
    main()
