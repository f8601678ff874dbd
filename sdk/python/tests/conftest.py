"""A live control plane for the tests: the repository's launcher (control plane, relay and local
agent on real Postgres) as a child process, once per test run. Never a mock."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def live() -> Iterator[dict]:
    proc = subprocess.Popen(
        ["node", "--import", "tsx", "sdk/ts/testing/live-control-plane.ts"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        first = lines.get(timeout=180)
        info = json.loads(first)
    except (queue.Empty, json.JSONDecodeError) as err:
        proc.kill()
        raise RuntimeError("the live control plane did not start; see its output above") from err
    try:
        yield info
    finally:
        proc.stdin.close()  # the launcher stops everything when its stdin closes
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()


class CuttableProxy:
    """Forwards a loopback port to the control plane; ``cut()`` drops every connection and
    ``paused`` refuses new ones, as a restart or a network blip would."""

    def __init__(self, target: str):
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self.paused = False
        self.accepted = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.paused:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.accepted += 1
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        with self._lock:
            for s in self._open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._open.clear()

    def close(self) -> None:
        self._listener.close()
        self.cut()


@pytest.fixture
def proxy(live: dict) -> Iterator[CuttableProxy]:
    p = CuttableProxy(live["address"])
    yield p
    p.close()


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # grpc honours http_proxy for plain-text channels; the tests talk to loopback only.
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "grpc_proxy"):
        monkeypatch.delenv(k, raising=False)
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
