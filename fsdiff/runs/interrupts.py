"""Clean interrupts: SIGINT and SIGTERM end an fsdiff command promptly, with every complete checkpoint kept.

Python runs a signal handler only when the main thread is back in the interpreter, which can take minutes while
XLA compiles or runs a long program; and a ``KeyboardInterrupt`` raised inside Orbax or tqdm may be swallowed or
leave threads behind. So ``handle_interrupts`` lets the C-level handler wake a watcher thread at once (through
``signal.set_wakeup_fd``); the watcher records the signal and arms a deadline after which the process ends itself
(``os._exit(128 + signum)``). Code in a ``deferred()`` section (the training loop, which checks ``pending()``
between steps and saves the current step before it stops) is never interrupted mid-way; elsewhere the handler
raises ``Interrupted`` as soon as Python runs it. A second signal ends the process at once. When Python runs the
handler where an exception cannot propagate (a garbage-collection callback, such as jaxlib's), the ``Interrupted``
is dropped without a traceback and the deadline ends the process.
"""

import contextlib
import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

GRACE_S = 8.0
"""Seconds from the first signal to the forced end: inside the 10 s a user (or a scheduler) gives."""

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_log = logging.getLogger(__name__)


class Interrupted(Exception):
    """The process received SIGINT or SIGTERM; ``exit_code`` is 130 or 143 (128 + the signal number)."""

    def __init__(self, signum: int):
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


_received: list[int] = []
_deferred = 0


def pending() -> int | None:
    """The signal received so far, if any (only under ``handle_interrupts``)."""
    return _received[0] if _received else None


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A section that a signal does not interrupt: it must poll ``pending()`` and stop by itself."""
    global _deferred
    _deferred += 1
    try:
        yield
    finally:
        _deferred -= 1


@contextlib.contextmanager
def handle_interrupts(grace_s: float = GRACE_S) -> Iterator[None]:
    """Install the handlers for the body (main thread only; the CLI wraps every computing command in it)."""
    _received.clear()
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_unraisable, previous_hook)
    watcher = threading.Thread(target=_watch, args=(read_fd, grace_s), daemon=True, name="fsdiff-interrupts")
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        sys.unraisablehook = previous_hook
        for s, handler in previous.items():
            signal.signal(s, handler)
        os.close(write_fd)


def _handler(signum: int, frame: object) -> None:
    if signum not in _received:
        _received.append(signum)
    if not _deferred:
        raise Interrupted(_received[0])


def _unraisable(previous: Callable, unraisable: object) -> None:
    if not isinstance(unraisable.exc_value, Interrupted):
        previous(unraisable)


def _watch(read_fd: int, grace_s: float) -> None:
    """Block on the wakeup pipe: the first signal arms the deadline, a second one ends the process now."""
    deadline: threading.Timer | None = None
    while True:
        data = os.read(read_fd, 16)
        if not data:  # the pipe was closed: the body is over
            os.close(read_fd)
            if deadline is not None:
                deadline.cancel()
            return
        for signum in data:
            if signum not in SIGNALS:
                continue
            if signum not in _received:
                _received.append(signum)
            if deadline is not None:
                _end(signum)
            deadline = threading.Timer(grace_s, _end, args=(_received[0],))
            deadline.daemon = True
            deadline.start()


def _end(signum: int) -> None:
    name = signal.Signals(signum).name
    _log.error("fsdiff: interrupted by %s; stopped without waiting for the current work", name)
    os._exit(128 + signum)
