"""Outgoing calls: identity passed between services, and DPoP, with ``requests`` or ``httpx``.

Three kinds of credentials:

* :class:`ForwardBearer`: forward the bearer token of the request being
  served, so the downstream service sees the same user::

      requests.get(url, auth=ForwardBearer(request.headers))   # Flask or Starlette

* :class:`ServiceToken`: a short-lived token for one audience, cached and
  renewed before it expires. Minted by your own :class:`~jwt_middleware.Issuer`
  (``ServiceToken.from_issuer``), or fetched from an OAuth 2 token endpoint
  with the client credentials grant (``ServiceToken.from_client_credentials``)::

      orders = ServiceToken.from_issuer(issuer, audience="orders-api", subject="billing")
      requests.post(url, auth=orders.requests_auth())
      await httpx.AsyncClient(auth=orders.httpx_auth()).post(url)

* :class:`DPoPAuth`: tokens bound to a key the client holds (RFC 9449). A
  :class:`DPoPKey` signs a fresh proof for every request (method, URL, the
  token's hash); the server's nonce is kept per server and a request the
  server refused for want of it is sent again once::

      dpop = DPoPAuth(DPoPKey.generate())           # no token yet: proofs only
      tokens = requests.post(login_url, json=credentials, auth=dpop.requests_auth()).json()
      dpop.access_token = tokens["access_token"]    # token_type "DPoP": bound to the key
      requests.get(url, auth=dpop.requests_auth())  # Authorization: DPoP ..., DPoP: <proof>

  ``proof_headers(method, url)`` gives the headers for any other HTTP library.
  See docs/dpop.md for the mobile-app story and nonces.

Neither HTTP library is imported by this module: install the one you call
with (``jwt-middleware[requests]``, ``jwt-middleware[httpx]``, or
``jwt-middleware[client]`` for both). A :class:`ForwardBearer` is a plain
callable, which both libraries accept as ``auth`` (httpx sync and async
clients alike); ``requests_auth()`` and ``httpx_auth()`` import their library
when called and say which extra to install if it is missing. The client
credentials fetch uses ``requests`` when it is installed and ``httpx``
otherwise (async: ``httpx``, or ``requests`` in a worker thread).

Security: tokens and keys are never logged; a forwarded token keeps its own
audience, so a downstream service accepts it only if it is in that audience
(prefer service tokens with the downstream's own audience). A DPoP key is as
secret as a password: whoever holds it can use the tokens bound to it.
"""

from .._core.proofs import DPoPKey
from ._dpop import DPoPAuth
from ._service import ForwardBearer, ServiceToken, TokenEndpointError

__all__ = ["DPoPAuth", "DPoPKey", "ForwardBearer", "ServiceToken", "TokenEndpointError"]
