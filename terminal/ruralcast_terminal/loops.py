"""The event loop a terminal process runs on, and the back-off it reconnects with.

Kept apart from the MQTT client (`mqtt`, which re-exports these names): the agent, the simulator
and the platform's link to the broker all start their loops here.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's when it is installed (the `fast` extra), else asyncio's.

    uvloop's event loop (libuv) costs a fraction of asyncio's per socket event, which is what a
    process carrying thousands of connections spends its time on; the client itself is the same.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on `new_event_loop()`'s loop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)


def backoff_delay(
    attempt: int, *, base: float, cap: float, rng: Callable[[float, float], float] = random.uniform
) -> float:
    """Exponential back-off with "equal jitter": half the window fixed, half random, capped.

    attempt 1 → [base/2, base], attempt 2 → [base, 2·base], … never above `cap`. The jitter spreads
    thousands of terminals that lost the broker at the same moment over the window.
    """
    window = min(cap, base * (2 ** min(max(attempt - 1, 0), 30)))
    return window / 2 + rng(0, window / 2)
