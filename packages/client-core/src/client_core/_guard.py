"""The guard around one send on asyncio: its request deadline, and ``HttpClient.cancel()``.

``asyncio.timeout_at()`` schedules a timer when a send starts and cancels it when the send
ends: two heap operations, a handle and a context copy per request, about a third of the
core's cost per call. Here every in-flight send of a client (on one loop) shares a single
timer, armed for the earliest deadline. A send registers itself and leaves again; the
timer is re-armed only when a send's deadline is earlier than the armed one. With one
request timeout for every call (the usual case) that is never, until the timer fires.

When the timer fires, every send whose deadline has passed is cancelled with
``task.cancel()`` and the timer is re-armed for the earliest remaining deadline. A send
undoes its own cancellation with ``task.uncancel()`` as ``asyncio.Timeout`` does, so a
cancellation from anyone else (a task group, an outer timeout) still propagates.

trio has no way to cancel a task from outside but a cancel scope, so there the client
keeps using one ``trio.CancelScope`` per send.
"""

from __future__ import annotations

import asyncio
import math

__all__ = ["AsyncioDeadlines", "AsyncioSend"]


class AsyncioSend:
    """One in-flight send: its task and deadline (``loop.time()``; ``inf`` for none).

    Attributes:
        task: The task running the send.
        deadline: When the send expires.
        fired: True once this guard cancelled ``task`` (a timeout or ``cancel()``).
    """

    __slots__ = ("deadline", "fired", "task")

    def __init__(self, task: asyncio.Task[object], deadline: float) -> None:
        self.task = task
        self.deadline = deadline
        self.fired = False


class AsyncioDeadlines:
    """Every in-flight send of one client on one asyncio loop, and the timer they share.

    Args:
        loop: The running loop.
    """

    __slots__ = ("_armed_at", "_handle", "loop", "sends")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sends: set[AsyncioSend] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = math.inf

    def add(self, send: AsyncioSend) -> None:
        """Register ``send``; arm the timer earlier when its deadline needs it.

        Args:
            send: A send that just started.
        """
        self.sends.add(send)
        if send.deadline < self._armed_at:
            self._arm(send.deadline)

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self.loop.call_at(when, self._fire)
        self._armed_at = when

    def _fire(self) -> None:
        # The loop runs a timer a little early (within its clock resolution): every send
        # due by the armed time has expired, as has any due by now.
        due = max(self.loop.time(), self._armed_at)
        self._handle = None
        self._armed_at = math.inf
        earliest = math.inf
        for send in list(self.sends):
            if send.deadline <= due:
                if not send.fired:
                    send.fired = True
                    send.task.cancel()
            elif send.deadline < earliest:
                earliest = send.deadline
        if earliest < math.inf:
            self._arm(earliest)

    def _cancel_all(self) -> None:
        for send in list(self.sends):
            if not send.fired:
                send.fired = True
                send.task.cancel()

    def cancel(self) -> None:
        """Expire every in-flight send now (``HttpClient.cancel()``).

        The tasks are cancelled from a loop callback, so a send that ends before it runs
        (say, ``cancel()`` was called by a hook of that very send) is left alone.
        """
        if self.sends and not self.loop.is_closed():
            self.loop.call_soon(self._cancel_all)

    def close(self) -> None:
        """Drop the timer (the client is finished; no send is in flight)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._armed_at = math.inf
