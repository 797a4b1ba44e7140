"""Spend a GitLab rate limit without running into it: the RateLimit-* headers GitLab sends with
every answer (RateLimit-Remaining in the current window, RateLimit-Reset its end in epoch seconds;
gitlab MR 209485, on GitLab.com) decide how many requests may be in flight, so that a fleet's
concurrency follows the limit instead of a fixed number. A 429 that still happens (another client
spending the same user's limit) is waited out by python-gitlab, as its Retry-After says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping


class RateLimitPacer:
    """Shared by every worker's client. Before a request: wait while the window's remaining
    requests are all spoken for by requests in flight, until the window resets. After an answer:
    learn the window's remaining count. A server that sends no RateLimit headers is not paced."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._changed = threading.Condition()
        self._remaining: int | None = None  # None: unknown (no headers yet, or a new window)
        self._reset = 0.0
        self._in_flight = 0

    def acquire(self) -> None:
        with self._changed:
            while True:
                now = self._clock()
                if self._remaining is not None and now >= self._reset:
                    self._remaining = None  # the window GitLab reported is over
                if self._remaining is None or self._remaining > self._in_flight:
                    self._in_flight += 1
                    return
                self._changed.wait(timeout=max(self._reset - now, 0.01))

    def release(self, headers: Mapping[str, str] | None) -> None:
        with self._changed:
            self._in_flight -= 1
            remaining, reset = _limit_headers(headers)
            if remaining is not None and reset is not None:
                if reset > self._reset or self._remaining is None:
                    self._remaining, self._reset = remaining, reset  # a newer window
                elif reset == self._reset:
                    self._remaining = min(self._remaining, remaining)  # answers may arrive out of order
            self._changed.notify_all()


def _limit_headers(headers: Mapping[str, str] | None) -> tuple[int | None, float | None]:
    if headers is None:
        return None, None
    try:
        return int(headers["RateLimit-Remaining"]), float(headers["RateLimit-Reset"])
    except (KeyError, ValueError, TypeError):
        return None, None
