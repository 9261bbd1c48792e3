"""``python -m examples.microservices``: a FastAPI gateway calling a Flask service.

Starts the gateway (:mod:`examples.microservices.gateway`, uvicorn) and the
orders service (:mod:`examples.microservices.orders`, gunicorn) on free
127.0.0.1 ports. The orders service trusts the gateway only through its
JWKS URL. Then: alice logs in at the gateway; ``/my-orders`` forwards her
token (the orders service sees *alice*); ``/stats`` calls with the gateway's
own service token (the orders service sees *gateway*); her token alone cannot
reach the internal API. Prints a transcript; exit status 1 on any unexpected
answer; stops both services at the end.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from examples.sso._run import Transcript, check, expect, free_ports, gunicorn, service, uvicorn

ALICE = {"username": "alice", "password": "wonderland-42"}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jwt-middleware-ms-") as tmp:
        logs = Path(tmp)
        gw_port, orders_port = free_ports(2)
        gateway_url = f"http://127.0.0.1:{gw_port}"
        env = {"MS_ISSUER": gateway_url, "MS_RING_DIR": str(logs / "ring"),
               "MS_ORDERS_URL": f"http://127.0.0.1:{orders_port}"}
        print("jwt_middleware microservices demo")
        print(f"  gateway: {gateway_url}  (FastAPI/uvicorn: logs in, calls orders)")
        print(f"  orders:  http://127.0.0.1:{orders_port}  "
              "(Flask/gunicorn: trusts the gateway's JWKS URL)")
        with (
            service("gateway", uvicorn("examples.microservices.gateway:app", gw_port),
                    gw_port, env, logs) as gateway,
            service("orders", gunicorn("examples.microservices.orders:app", orders_port),
                    orders_port, env, logs) as orders,
        ):
            run(Transcript({"gateway": gateway.url, "orders": orders.url}))
    print("\nall services stopped, temporary files removed.")


def run(t: Transcript) -> None:
    a = t.call("alice logs in at the gateway", "gateway", "POST", "/auth/login", body=ALICE,
               show=["access_token", "token_type", "expires_in"])
    expect(a, 200, "alice's login")
    token = a.body["access_token"]
    a = t.call("the gateway without a token is refused", "gateway", "GET", "/my-orders")
    expect(a, 401, "the gateway without a token")
    a = t.call("on behalf of the user: the gateway forwards alice's bearer token",
               "gateway", "GET", "/my-orders", token=token)
    expect(a, 200, "/my-orders")
    check(a.body["orders_status"] == 200 and a.body["orders_said"]["caller"] == "alice",
          "the orders service did not see alice")
    t.note("the orders service saw the user: " + a.body["orders_said"]["caller"])
    a = t.call("as itself: the gateway calls the internal API with a service token",
               "gateway", "GET", "/stats", token=token)
    expect(a, 200, "/stats")
    check(a.body["orders_status"] == 200 and a.body["orders_said"]["caller"] == "gateway",
          "the orders service did not see the gateway")
    t.note("the orders service saw the service: " + a.body["orders_said"]["caller"])
    a = t.call("alice's own token cannot reach the internal API", "orders", "GET",
               "/internal/stats", token=token)
    expect(a, 403, "the internal API with a user token")
    a = t.call("the orders service without a token is refused", "orders", "GET", "/orders")
    expect(a, 401, "orders without a token")
    print("\nall steps answered as expected.")


if __name__ == "__main__":
    main()
