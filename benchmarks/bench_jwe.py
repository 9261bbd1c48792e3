"""Encrypted tokens: decrypt + verify against verify alone, and the two JWE libraries.

Run: ``python -m benchmarks.bench_jwe`` (from the project root, in its venv).

One inner token (ES256, the claims of ``bench_verify``), and the same token encrypted
per key-management algorithm (``RSA-OAEP-256`` with RSA 2048, ``ECDH-ES`` and
``ECDH-ES+A256KW`` on P-256, ``dir``) and content encryption (``A256GCM``,
``A128CBC-HS256``). Per pair, in one interleaved run:

* **verify alone**: a plain ``Verifier`` on the inner token;
* **decrypt + verify**: a ``Verifier`` with the decryption key on the encrypted token
  (the checks of ``_core/jwe.py``, joserfc's decryption, then the same verify);
* each **uncached** (``cache_size=0``) and as a **cache hit** (the same token again,
  timed 20 hits per call and reported per hit; the encrypted one is keyed on the outer
  token, so a hit skips the decryption too);
* **joserfc** and **jwcrypto** decrypting that token alone (the library choice,
  ``docs/architecture.md``), and joserfc behind the checks of ``_core/jwe.py``
  (what those checks cost).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from benchmarks import _harness
from benchmarks.bench_verify import AUD, HITS, ISS, _hits, _per_hit, claims_for
from jwt_middleware import Config, DecryptionKey, DecryptionKeys, Verifier, encode, generate_key
from jwt_middleware._core.jwe import Decrypter

PAIRS = [
    (alg, enc)
    for alg in ("RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A256KW", "dir")
    for enc in ("A256GCM", "A128CBC-HS256")
]
HIT = f"cache hit (×{HITS} per call)"


def _jwcrypto(key: DecryptionKey) -> Callable[[str], bytes]:
    from jwcrypto import jwe, jwk

    private = {k: v for k, v in key.private_jwk().items() if k not in ("alg", "use")}
    found = jwk.JWK(**private)

    def decrypt(token: str) -> bytes:
        opened = jwe.JWE()
        opened.deserialize(token, key=found)
        payload: bytes = opened.payload
        return payload

    return decrypt


def variants_for(alg: str, enc: str) -> tuple[dict[str, Callable[[], object]], int]:
    signing = generate_key("ES256", kid="es256-2026-11")
    inner = encode(claims_for(int(time.time())), signing)
    key = DecryptionKey.generate(alg, kid=f"enc-{alg.lower()}", encryptions=(enc,))
    token = key.encryption_key(enc).encrypt(inner)

    def verifier(size: int, decrypt: bool) -> Verifier:
        keys = key if decrypt else ()
        return Verifier(
            Config(keys=signing, issuer=ISS, audience=AUD, cache_size=size, decryption_keys=keys)
        )

    plain, sealed = verifier(0, False), verifier(0, True)
    plain_hit, sealed_hit = verifier(16, False), verifier(16, True)
    jwcrypto = _jwcrypto(key)
    opener = Decrypter(DecryptionKeys([key]), required=True)
    assert sealed.verify(token).claims == plain.verify(inner).claims
    assert jwcrypto(token) == key.decrypt(token.encode()) == inner.encode()
    raw = token.encode()
    return {
        "verify alone, uncached": lambda: plain.verify(inner),
        "decrypt + verify, uncached": lambda: sealed.verify(token),
        f"verify alone, {HIT}": _hits(plain_hit.verify, inner),
        f"decrypt + verify, {HIT}": _hits(sealed_hit.verify, token),
        "joserfc decrypt only": lambda: key.decrypt(raw),
        "our checks + joserfc decrypt": lambda: opener.open(raw, 8192),
        "jwcrypto decrypt only": lambda: jwcrypto(token),
    }, len(token)


def bench(rounds: int, batch: int) -> list[str]:
    summary = [
        "| key management | content | JWE chars | decrypt + verify µs | × verify alone "
        "(uncached) | × verify alone (cache hit) | checks + decrypt ÷ decrypt "
        "| jwcrypto ÷ joserfc (decrypt) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for alg, enc in PAIRS:
        variants, chars = variants_for(alg, enc)
        samples = _harness.run(variants, rounds=rounds, batch=batch)
        for name in variants:
            if HIT in name:
                _per_hit(samples, name)
        print(_harness.table(f"{alg} + {enc}", samples, "verify alone, uncached", list(variants)))
        print()
        ratio = _harness.paired_ratio
        summary.append(
            f"| {alg} | {enc} | {chars} "
            f"| {statistics.median(samples['decrypt + verify, uncached']) * 1e6:.1f} "
            f"| {ratio(samples, 'decrypt + verify, uncached', 'verify alone, uncached'):.2f}× "
            f"| {ratio(samples, f'decrypt + verify, {HIT}', f'verify alone, {HIT}'):.2f}× "
            f"| {ratio(samples, 'our checks + joserfc decrypt', 'joserfc decrypt only'):.2f}× "
            f"| {ratio(samples, 'jwcrypto decrypt only', 'joserfc decrypt only'):.2f}× |"
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--batch", type=int, default=40)
    args = parser.parse_args()
    print("\n".join(bench(args.rounds, args.batch)))


if __name__ == "__main__":
    main()
