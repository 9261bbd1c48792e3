"""Interleaved micro-benchmark harness: medians and paired ratios.

Each round times a batch of calls of every variant, in a shuffled order, so
that machine noise (this machine is shared) hits all variants alike. A
ratio is computed per round (variant / baseline) and the median of those is
reported: a paired ratio, robust to drift between rounds.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Mapping


def run(
    variants: Mapping[str, Callable[[], object]],
    *,
    rounds: int = 41,
    batch: int = 200,
    seed: int = 1,
    inner: int = 1,
) -> dict[str, list[float]]:
    """Per-call seconds for each variant, one sample per round.

    ``inner`` is how many operations one call of a variant performs (an async
    variant runs ``inner`` requests per event-loop entry).
    """
    rng = random.Random(seed)
    names = list(variants)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for fn in variants.values():  # warm up
        for _ in range(batch):
            fn()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            rng.shuffle(names)
            for name in names:
                fn = variants[name]
                start = time.perf_counter_ns()
                for _ in range(batch):
                    fn()
                samples[name].append((time.perf_counter_ns() - start) / (batch * inner) / 1e9)
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def paired_ratio(samples: Mapping[str, list[float]], name: str, baseline: str) -> float:
    """Median over rounds of (name / baseline) in the same round."""
    return statistics.median(a / b for a, b in zip(samples[name], samples[baseline], strict=True))


def table(
    title: str,
    samples: Mapping[str, list[float]],
    baseline: str,
    order: list[str],
) -> str:
    """A Markdown table: median per call (µs) and the paired ratio to ``baseline``."""
    lines = [
        f"**{title}**",
        "",
        "| variant | median µs/call | × " + baseline + " (paired) |",
        "|---|---:|---:|",
    ]
    for name in order:
        med = statistics.median(samples[name]) * 1e6
        ratio = paired_ratio(samples, name, baseline)
        lines.append(f"| {name} | {med:.2f} | {ratio:.2f}× |")
    return "\n".join(lines)
