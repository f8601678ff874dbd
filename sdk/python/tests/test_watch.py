"""watch_sessions against a live control plane, with a cuttable TCP forwarder in between."""

from __future__ import annotations

import threading
import time

import grpc
import pytest

from streamspace.v1 import types_pb2
from streamspace_sdk import Client, StreamSpaceError

RUNNING = types_pb2.SESSION_STATE_RUNNING
STOPPED = types_pb2.SESSION_STATE_STOPPED


class Collector:
    def __init__(self, client: Client, session_id: str = ""):
        self.events = []
        self.reconnects = 0
        self.error = None
        self.watch = client.watch_sessions(session_id, max_delay=0.2, on_reconnect=self._again)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _again(self, *_):
        self.reconnects += 1

    def _run(self):
        try:
            for e in self.watch:
                self.events.append(e)
        except Exception as err:  # noqa: BLE001 - asserted by stop()
            self.error = err

    def find(self, what, match, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for e in list(self.events):
                if match(e):
                    return e
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def stop(self):
        self.watch.close()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the watch did not end after close()"
        assert self.error is None, self.error
        last = {}
        for e in self.events:
            if not e.deleted:
                assert e.session.version > last.get(e.session.id, -1)
                last[e.session.id] = e.session.version


def live_probe(direct: Client, w: Collector, attempts: int = 5) -> None:
    """Creates short-lived sessions until one's transitions arrive on the stream itself (a
    probe whose few transitions fell into a reconnect is only replayed; the next one tells)."""
    for _ in range(attempts):
        c = direct.sessions.CreateSession(template="demo-desktop").session.id
        try:
            w.find("a probe streamed", lambda e: e.session.id == c and not e.replayed, timeout=5)
            return
        except AssertionError:
            continue
        finally:
            direct.sessions.StopSession(id=c)
    raise AssertionError(f"no probe session was streamed in {attempts} attempts")


def wait_running(c: Client, sid: str):
    deadline = time.time() + 30
    while time.time() < deadline:
        if c.sessions.GetSession(id=sid).session.state == RUNNING:
            return
        time.sleep(0.05)
    raise AssertionError(f"session {sid} never ran")


def test_watch_all_survives_cuts_and_replays_the_gap(live, proxy):
    direct = Client(live["url"])
    direct.sign_in(live["username"], live["password"])
    through = Client(proxy.url)
    through.sign_in(live["username"], live["password"])
    w = Collector(through)
    try:
        a = direct.sessions.CreateSession(template="demo-desktop").session.id
        w.find("A running", lambda e: e.session.id == a and e.session.state == RUNNING)
        proxy.paused = True
        proxy.cut()
        b = direct.sessions.CreateSession(template="demo-desktop").session.id
        wait_running(direct, b)
        proxy.paused = False
        replayed = w.find("B replayed", lambda e: e.session.id == b and e.replayed)
        assert replayed.session.state == RUNNING
        assert w.reconnects >= 1 and proxy.accepted >= 2, (w.reconnects, proxy.accepted)
        # The channel comes back from its own backoff on its own schedule; a new session's
        # transitions show when the stream itself is live again.
        live_probe(direct, w)
        direct.sessions.StopSession(id=a)
        w.find("A stopped, streamed",
               lambda e: e.session.id == a and not e.replayed and e.session.state == STOPPED)
        direct.sessions.StopSession(id=b)
    finally:
        w.stop()


def test_watch_one_session_starts_with_its_state_and_resumes(live, proxy):
    direct = Client(live["url"])
    direct.sign_in(live["username"], live["password"])
    sid = direct.sessions.CreateSession(template="demo-desktop").session.id
    wait_running(direct, sid)
    through = Client(proxy.url)
    through.sign_in(live["username"], live["password"])
    w = Collector(through, sid)
    try:
        first = w.find("the current state", lambda e: True)
        assert first.session.id == sid and first.session.state == RUNNING
        before = proxy.accepted
        proxy.cut()
        deadline = time.time() + 10
        while proxy.accepted == before and time.time() < deadline:
            time.sleep(0.02)
        direct.sessions.StopSession(id=sid)
        w.find("the stop", lambda e: e.session.state == STOPPED)
    finally:
        w.stop()


@pytest.mark.parametrize("sid,code", [
    ("not-a-session-id", grpc.StatusCode.INVALID_ARGUMENT),
    ("00000000-0000-4000-8000-000000000000", grpc.StatusCode.NOT_FOUND),
])
def test_watch_ends_on_final_errors(live, sid, code):
    c = Client(live["url"])
    c.sign_in(live["username"], live["password"])
    reconnects = []
    with pytest.raises(StreamSpaceError) as e:
        for _ in c.watch_sessions(sid, on_reconnect=lambda *a: reconnects.append(a)):
            pass
    assert e.value.code == code and reconnects == []
