"""``watch_sessions`` as an iterator that outlives the stream under it. A watch is one server
stream on one control-plane pod; pods restart and connections drop, so the iterator reconnects
with jittered backoff and covers the gap:

* watching one session, the server sends its current state first on every (re)connect;
* watching all, the iterator lists the visible sessions after reconnecting and yields those
  that changed while it was away (``replayed=True``).

Every session's ``version`` grows with each transition, so a state already yielded is dropped.
Deletions during a gap cannot be seen by listing; they arrive only while the stream is up.
``close()`` (from any thread) ends the iteration quietly.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional

import grpc

from streamspace.v1 import types_pb2

from .errors import StreamSpaceError

# Codes after which reconnecting cannot help: the request itself is wrong or not allowed.
_FINAL = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.OUT_OF_RANGE,
}


@dataclass(frozen=True)
class SessionEvent:
    """One change, streamed or found by the catch-up listing after a reconnect."""

    session: types_pb2.Session
    deleted: bool = False
    replayed: bool = False


class SessionWatch:
    """Iterate it for SessionEvent; ``close()`` stops it. Raises StreamSpaceError on a final
    error (bad id, unknown session, no permission, a credential that cannot be renewed)."""

    def __init__(
        self,
        open_stream: Callable[[], Any],
        list_visible: Callable[[], Iterable[types_pb2.Session]],
        reauthenticate: Callable[[], bool],
        session_id: str = "",
        catch_up: bool = True,
        initial_delay: float = 0.1,
        max_delay: float = 5.0,
        max_attempts: Optional[int] = None,
        on_reconnect: Optional[Callable[[int, Optional[StreamSpaceError]], None]] = None,
    ):
        self._open = open_stream
        self._list = list_visible
        self._reauthenticate = reauthenticate
        self._session_id = session_id
        self._catch_up = catch_up and not session_id
        self._initial, self._max = initial_delay, max_delay
        self._max_attempts = max_attempts
        self._on_reconnect = on_reconnect
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._call: Any = None

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()

    def __enter__(self) -> "SessionWatch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[SessionEvent]:
        seen: dict[str, int] = {}

        def fresh(s: types_pb2.Session) -> bool:
            if seen.get(s.id, -1) >= s.version:
                return False
            seen[s.id] = s.version
            return True

        failures, connected_before, reauthenticated = 0, False, False
        cause: Optional[StreamSpaceError] = None
        while not self._closed.is_set():
            if connected_before or failures:
                if self._max_attempts is not None and failures >= self._max_attempts and cause:
                    raise cause
                if self._on_reconnect:
                    self._on_reconnect(max(failures, 1), cause)
                if failures and self._closed.wait(
                        random.uniform(0, min(self._max, self._initial * 2 ** (failures - 1)))):
                    return
            try:
                # Open the stream first (grpc sends it in the background), then list, so no
                # change falls between the two.
                call = self._open()
                with self._lock:
                    self._call = call
                if self._closed.is_set():
                    call.cancel()
                if connected_before and self._catch_up:
                    for s in self._list():
                        if fresh(s):
                            yield SessionEvent(session=s, replayed=True)
                connected_before = True
                for m in call:
                    failures, reauthenticated = 0, False
                    if not m.HasField("session"):
                        continue
                    if m.deleted:
                        seen.pop(m.session.id, None)
                        yield SessionEvent(session=m.session, deleted=True)
                    elif fresh(m.session):
                        yield SessionEvent(session=m.session)
                cause = None  # the server ended the stream (pod draining): reconnect at once
            except (grpc.RpcError, StreamSpaceError) as err:
                if self._closed.is_set():
                    return
                e = err if isinstance(err, StreamSpaceError) else StreamSpaceError.from_rpc(err)
                if e.code in _FINAL:
                    raise e from err
                if e.code == grpc.StatusCode.UNAUTHENTICATED:
                    if reauthenticated or not self._reauthenticate():
                        raise e from err
                    reauthenticated = True
                cause = e
                failures += 1
            finally:
                with self._lock:
                    if self._call is not None:
                        self._call.cancel()
                    self._call = None
