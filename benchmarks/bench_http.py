"""Real HTTP on loopback: requests per second of a protected route over a bare one, with wrk.

Run: ``python -m benchmarks.bench_http`` (project root, in its venv). It needs ``wrk``
(``apt install wrk``), which is not part of CI: this benchmark is run by hand, and exits
with a message when ``wrk`` is not on ``PATH``.

Every variant is a real server on a free 127.0.0.1 port, all started at once and kept up
for the whole run: uvicorn (one worker, ``--loop asyncio --http h11``, no access log) for
Starlette and FastAPI, gunicorn (``--worker-class sync``, one worker by default) for Flask,
each serving one app of ``benchmarks._http_apps`` (``GET /me``, a small JSON body). A
server is ready when it answers a request (polled, never a fixed sleep), and before and
after the timed runs each one is checked: 200 with the token; a protected app must refuse
a request without a token and one with a token signed by another secret (401, or the
peer's own refusal status), and a bare app must answer 200 without one, so that a
misconfigured app cannot produce fast numbers. Every request wrk sends carries the same
valid HS256 token (``iss`` and ``aud`` checked), bare apps included, so this package's
cache is warm; the ``uncached`` rows run with ``cache_size=0`` and verify in full on every
request. Each bare app is served twice: the control row (bare ÷ bare) shows the noise.

One wrk run per variant and round (``wrk -t1 -c16 -d3s`` by default). Each round takes
the frameworks in a shuffled order and runs each framework's variants back to back, in a
shuffled order, so that the runs a ratio divides are seconds apart. A run with any
non-2xx/3xx answer, a socket timeout or no request at all fails the benchmark. Reported:
the median requests per second of each variant and the **paired ratio**: per round,
protected req/s over the bare req/s of the same framework and server, then the median
(with the lowest and highest round). Next to it, the same ratio computed from the server's
own CPU time per request (bare ÷ protected): a server alone on its core is CPU-bound, so
that ratio is the req/s ratio of a quiet machine, and it does not count the moments other
processes hold the core, so it varies much less from round to round.

The machine has 2 cores and is shared: by default the servers are pinned to the last CPU
and wrk to the others (``taskset``), so that the load generator and the server do not take
turns on one core. Each round starts once the machine is quiet (at most ``--quiet-timeout``
seconds of waiting), and a run during which other processes used more than
``--max-foreign`` cores (``benchmarks._http_load``) is repeated once the machine is quiet
again (at most ``--retries`` times, then kept and counted). The target (warm cache at least
0.9× bare) is judged by req/s, or by server CPU per request when the control row is more
than 5 % off 1 (req/s too noisy in that run); the summary says which.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import jwt

from benchmarks import _http_apps, bench_frameworks
from benchmarks._http_load import Window, wait_quiet
from benchmarks._http_servers import Server, Variant, check, pinned, serving

TARGET = 0.9
REFERENCE = "reference:"


def _group(
    server: str, group: str, prefix: str, peers: Sequence[tuple[str, str, tuple[int, int]]]
) -> list[Variant]:
    bare = f"{prefix}-bare"
    return [
        Variant(bare, server, group, f"bare {group}", "", (200, 200)),
        Variant(f"{bare}-again", server, group, f"control: bare {group} again", bare, (200, 200)),
        Variant(f"{prefix}-ours", server, group, "jwt_middleware, warm cache", bare),
        Variant(f"{prefix}-ours-uncached", server, group,
                "jwt_middleware, uncached (cache_size=0)", bare),
        *(Variant(key, server, group, label, bare, status) for key, label, status in peers),
    ]


VARIANTS: list[Variant] = [
    # The peers' own refusals: Starlette's AuthenticationMiddleware answers an
    # AuthenticationError with 400; AuthX and flask-jwt-extended a token they cannot
    # decode with 422.
    *_group("uvicorn", "Starlette", "starlette",
            [("starlette-peer", "AuthenticationMiddleware + PyJWT", (400, 400))]),
    *_group("uvicorn", "FastAPI", "fastapi",
            [("fastapi-peer", "HTTPBearer + PyJWT", (401, 401)),
             ("fastapi-authx", "AuthX", (401, 422)),
             # What FastAPI's dependency machinery alone costs: no check at all.
             ("fastapi-nothing", f"{REFERENCE} a dependency that does nothing", (200, 200))]),
    *_group("gunicorn", "Flask", "flask",
            [("flask-peer", "flask-jwt-extended", (401, 422))]),
]
assert {v.key for v in VARIANTS} == set(_http_apps.VARIANTS)


@dataclass(frozen=True)
class Options:
    rounds: int
    duration: str
    connections: int
    threads: int
    workers: int
    server_cpus: str | None
    wrk_cpus: str | None
    seed: int
    variants: tuple[Variant, ...]
    max_foreign: float  # cores of other load a kept run may have seen
    retries: int
    quiet_timeout: float


@dataclass(frozen=True)
class WrkResult:
    rps: float
    requests: int
    non_2xx: int
    socket_errors: dict[str, int]


_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in ", re.M)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.M)
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(text: str) -> WrkResult:
    rps, total = _RPS.search(text), _TOTAL.search(text)
    if rps is None or total is None:
        raise ValueError(f"unreadable wrk output:\n{text}")
    non_2xx = _NON_2XX.search(text)
    sock = _SOCKET.search(text)
    counts = [int(n) for n in sock.groups()] if sock else [0, 0, 0, 0]
    return WrkResult(float(rps.group(1)), int(total.group(1)),
                     int(non_2xx.group(1)) if non_2xx else 0,
                     dict(zip(("connect", "read", "write", "timeout"), counts, strict=True)))


@dataclass(frozen=True)
class Run:
    wrk: WrkResult
    cpu: float  # the server's CPU seconds per request
    foreign: float  # cores the other processes of the machine used meanwhile


def run_wrk(server: Server, token: str, opts: Options, duration: str) -> Run:
    """One bounded wrk run, checked."""
    command = pinned(opts.wrk_cpus, [
        "wrk", f"-t{opts.threads}", f"-c{opts.connections}", f"-d{duration}",
        "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{server.port}/me",
    ])
    window = Window.open()
    cpu = server.cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    cpu = server.cpu_seconds() - cpu
    foreign = window.foreign(cpu)
    if done.returncode != 0:
        raise server.fail(f"wrk failed ({done.returncode}): {done.stderr}")
    result = parse_wrk(done.stdout)
    if result.non_2xx or result.socket_errors["timeout"] or not result.requests:
        raise server.fail(f"bad run: {result}\n{done.stdout}")
    if server.process.poll() is not None:
        raise server.fail("died during the run")
    return Run(result, cpu / result.requests, foreign)


def quiet_run(server: Server, token: str, opts: Options, samples: Samples) -> Run:
    """A run the rest of the machine left alone: repeated (after waiting for the machine to
    be quiet) while other processes took more than ``max_foreign`` cores, at most
    ``retries`` times; the last one is kept, and counted as loud, when that never came."""
    for attempt in range(opts.retries + 1):
        run = run_wrk(server, token, opts, opts.duration)
        if run.foreign <= opts.max_foreign:
            return run
        if attempt == opts.retries or not wait_quiet(opts.max_foreign, opts.quiet_timeout):
            break
        samples.repeated += 1
    samples.loud += 1
    return run


def schedule(variants: Sequence[Variant], rng: random.Random) -> list[str]:
    """One round: the frameworks in a shuffled order, each one's variants shuffled, in a row."""
    groups = list(dict.fromkeys(v.group for v in variants))
    rng.shuffle(groups)
    order: list[str] = []
    for group in groups:
        keys = [v.key for v in variants if v.group == group]
        rng.shuffle(keys)
        order += keys
    return order


@dataclass
class Samples:
    """One value per variant and round."""

    rps: dict[str, list[float]]
    cpu: dict[str, list[float]]  # server CPU seconds per request
    foreign: list[float] = field(default_factory=list)  # other load during each kept run
    busy: list[float] = field(default_factory=list)  # the server's cores during each run
    socket_errors: int = 0
    repeated: int = 0  # runs done again because of other load
    loud: int = 0  # runs kept although other load stayed above the limit
    waited: float = 0.0  # seconds spent waiting for a quiet machine before rounds


def measure(opts: Options, token: str, forged: str) -> Samples:
    rng = random.Random(opts.seed)
    samples = Samples({v.key: [] for v in opts.variants}, {v.key: [] for v in opts.variants})
    with tempfile.TemporaryDirectory(prefix="bench-http-") as logs, \
            serving(opts.variants, Path(logs), opts.server_cpus, opts.workers) as running:
        for server in running.values():
            check(server, token, forged)
        for key in schedule(opts.variants, rng):  # untimed: imports, caches, connections
            run_wrk(running[key], token, opts, "1s")
        for number in range(1, opts.rounds + 1):
            start = time.monotonic()
            wait_quiet(opts.max_foreign, opts.quiet_timeout)
            samples.waited += time.monotonic() - start
            for key in schedule(opts.variants, rng):
                run = quiet_run(running[key], token, opts, samples)
                samples.rps[key].append(run.wrk.rps)
                samples.cpu[key].append(run.cpu)
                samples.foreign.append(run.foreign)
                samples.busy.append(run.cpu * run.wrk.rps)
                samples.socket_errors += sum(run.wrk.socket_errors.values())
            print(f"round {number}/{opts.rounds} done ({samples.repeated} runs repeated, "
                  f"{samples.loud} loud)", file=sys.stderr, flush=True)
        for server in running.values():  # still the app it was at the start
            check(server, token, forged)
    return samples


def rps_ratios(samples: Samples, v: Variant) -> list[float]:
    """Per round: the variant's req/s over its bare app's."""
    return [a / b for a, b in zip(samples.rps[v.key], samples.rps[v.baseline], strict=True)]


def cpu_ratios(samples: Samples, v: Variant) -> list[float]:
    """Per round: the bare app's CPU per request over the variant's."""
    return [b / a for a, b in zip(samples.cpu[v.key], samples.cpu[v.baseline], strict=True)]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def header(opts: Options, samples: Samples) -> str:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    wrk_version = (wrk.stdout or wrk.stderr).split(" [")[0].strip()
    versions = ", ".join(
        f"{n} {_version(n)}"
        for n in ("uvicorn", "gunicorn", "starlette", "fastapi", "flask", "pyjwt")
    )
    pin = (f"servers on CPU {opts.server_cpus}, wrk on CPU {opts.wrk_cpus} (taskset)"
           if opts.server_cpus else "not pinned")
    return (
        f"{opts.rounds} interleaved rounds of `wrk -t{opts.threads} -c{opts.connections} "
        f"-d{opts.duration}` per variant; {pin}; gunicorn {opts.workers} sync worker(s); "
        f"{wrk_version}; {versions}; socket errors (connect/read/write) over all runs: "
        f"{samples.socket_errors}. The server used a median {statistics.median(samples.busy):.2f} "
        f"cores during a run. Other load on the machine during the kept runs: median "
        f"{statistics.median(samples.foreign):.2f} cores, highest {max(samples.foreign):.2f}; "
        f"{samples.repeated} runs repeated because other processes took more than "
        f"{opts.max_foreign} cores, {samples.loud} kept above that; "
        f"{samples.waited:.0f} s waited for a quiet machine before rounds"
    )


def group_table(
    rows: Sequence[Variant], samples: Samples, raw: bool
) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """One framework's table; and each protected row's paired ratios (by req/s, by CPU)."""
    lines = [
        f"**{rows[0].server}, {rows[0].group}**", "",
        "| variant | median req/s | ÷ bare (paired) | lowest, highest round "
        "| by server CPU/request (paired) | server µs/request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    medians: dict[str, tuple[float, float]] = {}
    for v in rows:
        rps = statistics.median(samples.rps[v.key])
        us = statistics.median(samples.cpu[v.key]) * 1e6
        if v.bare:
            lines.append(f"| {v.label} | {rps:,.0f} | 1.00 | | 1.00 | {us:.0f} |")
            continue
        r = rps_ratios(samples, v)
        medians[v.key] = (statistics.median(r), statistics.median(cpu_ratios(samples, v)))
        lines.append(f"| {v.label} | {rps:,.0f} | {medians[v.key][0]:.2f} "
                     f"| {min(r):.2f}, {max(r):.2f} | {medians[v.key][1]:.2f} | {us:.0f} |")
    if raw:
        lines.append("")
        for v in rows:
            line = f"* {v.label}: req/s " + ", ".join(f"{x:.0f}" for x in samples.rps[v.key])
            if not v.bare:
                line += "; ÷ bare " + ", ".join(f"{x:.2f}" for x in rps_ratios(samples, v))
            lines.append(line)
    return [*lines, ""], medians


def report(opts: Options, samples: Samples, raw: bool = False) -> str:
    lines = [header(opts, samples), ""]
    summary = [
        "| server, framework | jwt_middleware warm cache ÷ bare | target | uncached ÷ bare "
        "| peers ÷ bare | references ÷ bare | control: bare ÷ bare |",
        "|---|---:|---|---:|---|---|---:|",
    ]
    for group in dict.fromkeys(v.group for v in opts.variants):
        rows = [v for v in opts.variants if v.group == group]
        table, medians = group_table(rows, samples, raw)
        lines += table
        both = {key: f"{a:.2f}, {b:.2f}" for key, (a, b) in medians.items()}
        control, ours, uncached, *others = rows[1:]
        peers = "; ".join(
            f"{p.label} {both[p.key]}" for p in others if not p.label.startswith(REFERENCE)
        )
        refs = "; ".join(
            f"{p.label.removeprefix(REFERENCE).strip()} {both[p.key]}"
            for p in others if p.label.startswith(REFERENCE)
        )
        summary.append(
            f"| {ours.server}, {group} | {both[ours.key]} "
            f"| {verdict(*medians[ours.key], medians[control.key][0])} "
            f"| {both[uncached.key]} | {peers} | {refs or '—'} | {both[control.key]} |"
        )
    note = "(each ratio in this table: by req/s, then by server CPU per request)"
    return "\n".join([*lines, *summary, "", note])


def verdict(rps_ratio: float, cpu_ratio: float, control: float) -> str:
    """The target judged by req/s; by server CPU per request when the control row shows that
    the req/s of this run were not to be trusted (bare ÷ bare off 1 by more than 5 %)."""
    if abs(control - 1) <= 0.05:
        return f"≥ {TARGET}: {'met' if rps_ratio >= TARGET else 'missed'}"
    return (f"≥ {TARGET}: {'met' if cpu_ratio >= TARGET else 'missed'} by server CPU "
            f"(req/s too noisy: control {control:.2f})")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--duration", default="3s", help="wrk -d per run (default 3s)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn sync workers")
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", choices=sorted({v.group for v in VARIANTS}),
                        help="measure only this framework (repeatable)")
    parser.add_argument("--raw", action="store_true", help="also print every run's req/s")
    parser.add_argument("--max-foreign", type=float, default=0.25,
                        help="cores other processes may use during a kept run (default 0.25)")
    parser.add_argument("--retries", type=int, default=3, help="repeats of a loud run")
    parser.add_argument("--quiet-timeout", type=float, default=20.0,
                        help="seconds to wait for a quiet machine before a repeat")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("bench_http needs wrk on PATH (Debian/Ubuntu: apt install wrk)")
    cpus = sorted(os.sched_getaffinity(0))
    pin = not args.no_pin and len(cpus) >= 2 and shutil.which("taskset") is not None
    opts = Options(
        rounds=args.rounds, duration=args.duration, connections=args.connections,
        threads=args.threads, workers=args.workers,
        server_cpus=str(cpus[-1]) if pin else None,
        wrk_cpus=",".join(map(str, cpus[:-1])) if pin else None, seed=args.seed,
        variants=tuple(v for v in VARIANTS if not args.only or v.group in args.only),
        max_foreign=args.max_foreign, retries=args.retries, quiet_timeout=args.quiet_timeout,
    )
    token = bench_frameworks.make_token()
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, "another-secret-0123456789-abcdefghijklmnop", algorithm="HS256")
    print(report(opts, measure(opts, token, forged), args.raw))


if __name__ == "__main__":
    main()
