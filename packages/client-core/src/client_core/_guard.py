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

trio has no way to cancel a task from outside but a cancel scope, and entering and
leaving one costs more than the rest of the client's work per call. With an engine that
honours :class:`~client_core.engine.Interrupt` (``EngineCapability.INTERRUPT``), a send
of a bytes body needs none: :class:`TrioDeadlines` keeps the sends of a client (on one
trio run) and one system task that sleeps until the earliest deadline, and interrupts
the sends that are due (or all of them, for ``cancel()``) through the engine. Other sends
keep one ``trio.CancelScope`` each.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from client_core.engine import Interrupt
from client_core.errors import HttpClientError

__all__ = ["AsyncioDeadlines", "AsyncioSend", "SendInterrupted", "TrioDeadlines", "TrioSend"]


class SendInterrupted(HttpClientError):
    """What an interrupted engine raises; the client turns it into the error users see."""


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


class TrioSend:
    """One in-flight send on trio without a cancel scope: its interrupt and deadline.

    Attributes:
        interrupt: What the engine listens to.
        deadline: When the send expires (``trio.current_time()``; ``inf`` for none).
    """

    __slots__ = ("deadline", "interrupt")

    def __init__(self, interrupt: Interrupt, deadline: float) -> None:
        self.interrupt = interrupt
        self.deadline = deadline


class TrioDeadlines:
    """Every scope-free send of one client on one trio run, and the task timing them.

    The system task starts with the first send and sleeps in a cancel scope whose
    deadline is the earliest armed one; an earlier send moves that deadline (no task
    switch). When it passes, the task interrupts every send that is due and sleeps until
    the next one.

    Args:
        trio: The ``trio`` module (the caller runs under it).
    """

    __slots__ = ("_armed_at", "_closed", "_running", "_scope", "sends", "token", "trio")

    def __init__(self, trio: Any) -> None:
        self.trio = trio
        self.token = trio.lowlevel.current_trio_token()
        self.sends: set[TrioSend] = set()
        self._armed_at = math.inf
        self._scope: Any = None
        self._running = False
        self._closed = False

    def current(self) -> bool:
        """Whether this is the trio run the caller is in."""
        try:
            return bool(self.trio.lowlevel.current_trio_token() is self.token)
        except RuntimeError:
            return False

    def add(self, send: TrioSend) -> None:
        """Register ``send``; time it (start the task, or move its deadline earlier)."""
        self.sends.add(send)
        if send.deadline < self._armed_at:
            self._armed_at = send.deadline
            if self._scope is not None:
                self._scope.deadline = send.deadline
            elif not self._running:
                self._running = True
                self.trio.lowlevel.spawn_system_task(self._run, name="client_core deadlines")

    async def _run(self) -> None:
        trio = self.trio
        try:
            while not self._closed:
                with trio.CancelScope(deadline=self._armed_at) as scope:
                    self._scope = scope
                    await trio.sleep_forever()
                self._scope = None
                if not self._closed:
                    self._fire()
        finally:
            self._scope = None
            self._running = False

    def _fire(self) -> None:
        now = self.trio.current_time()
        earliest = math.inf
        for send in list(self.sends):
            if send.deadline <= now:
                self.sends.discard(send)
                send.interrupt.interrupt(SendInterrupted("the request deadline passed"))
            elif send.deadline < earliest:
                earliest = send.deadline
        self._armed_at = earliest

    def cancel(self) -> None:
        """Interrupt every send now (``HttpClient.cancel()``)."""
        sends = list(self.sends)
        self.sends.clear()
        for send in sends:
            send.interrupt.interrupt(SendInterrupted("the client was cancelled"))

    def close(self) -> None:
        """Stop the task (the client is finished; no send is in flight)."""
        self._closed = True
        if self._scope is not None:
            self._scope.cancel()
