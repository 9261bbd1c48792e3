"""RedisStore settings: keywords, URL query options, and what is refused (no server needed)."""

from __future__ import annotations

import pytest

from jwt_middleware.stores import StoreError, store_from_url
from jwt_middleware.stores.redis import RedisStore

URL = "redis://127.0.0.1:1/0"  # never connected to: construction is lazy


def _pools(store: RedisStore) -> list[dict[str, object]]:
    return [store._sync.connection_pool.connection_kwargs,
            store._async.connection_pool.connection_kwargs]


def test_defaults() -> None:
    store = RedisStore(URL)
    assert store.socket_timeout == 2.0
    assert store.socket_connect_timeout == 2.0
    assert store.breaker_failures == 3
    assert store.breaker_open_for == 3.0


def test_keywords_set_each_timeout_and_timeout_sets_both() -> None:
    store = RedisStore(URL, timeout=0.5, socket_connect_timeout=1.5)
    assert (store.socket_timeout, store.socket_connect_timeout) == (0.5, 1.5)
    for kwargs in _pools(store):
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (0.5, 1.5)


def test_url_options_win_over_keywords_in_both_clients() -> None:
    store = RedisStore(f"{URL}?socket_timeout=0.25&socket_connect_timeout=0.75",
                       socket_timeout=9.0, socket_connect_timeout=9.0)
    assert (store.socket_timeout, store.socket_connect_timeout) == (0.25, 0.75)
    for kwargs in _pools(store):
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (0.25, 0.75)


def test_breaker_url_options_are_ours_and_the_rest_reaches_redis_py() -> None:
    store = store_from_url(
        "redis://127.0.0.1:1/0?breaker_failures=5&db=3&breaker_open_for=1.5&socket_timeout=0.5"
    )
    assert isinstance(store, RedisStore)
    assert store.breaker_failures == 5
    assert store.breaker_open_for == 1.5
    assert store.socket_timeout == 0.5
    for kwargs in _pools(store):
        assert kwargs["db"] == 3
        assert "breaker_failures" not in kwargs
        assert "breaker_open_for" not in kwargs


def test_the_breaker_can_be_turned_off() -> None:
    assert RedisStore(URL, breaker_failures=0).breaker_failures == 0
    assert RedisStore(f"{URL}?breaker_failures=0").breaker_failures == 0


@pytest.mark.parametrize(
    ("url", "kwargs"),
    [
        (f"{URL}?socket_timeout=soon", {}),
        (f"{URL}?socket_timeout=-1", {}),
        (f"{URL}?breaker_failures=many", {}),
        (f"{URL}?breaker_open_for=0", {}),
        (f"{URL}?no_such_option=1", {}),
        (URL, {"timeout": 0.0}),
        (URL, {"socket_timeout": float("inf")}),
        (URL, {"breaker_failures": -1}),
        (URL, {"breaker_open_for": -1.0}),
        ("http://127.0.0.1/0", {}),
    ],
)
def test_bad_settings_are_refused_when_the_store_is_built(
    url: str, kwargs: dict[str, float]
) -> None:
    with pytest.raises(StoreError):
        RedisStore(url, **kwargs)  # type: ignore[arg-type]


def test_refusals_never_echo_the_url_password() -> None:
    for url in ("redis://user:s3cret-pw@127.0.0.1:1/0?no_such_option=1",
                "redis://user:s3cret-pw@127.0.0.1:1/0?socket_timeout=x",
                "redis://user:s3cret-pw@127.0.0.1:1/0?breaker_failures=x"):
        with pytest.raises(StoreError) as caught:
            RedisStore(url)
        assert "s3cret-pw" not in str(caught.value)
    assert "s3cret-pw" not in repr(RedisStore("redis://user:s3cret-pw@127.0.0.1:1/0"))
