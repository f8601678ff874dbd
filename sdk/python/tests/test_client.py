"""The Python SDK against a live control plane: sign-in, API keys, refresh before expiry and
after a refusal, typed errors, paging."""

from __future__ import annotations

import threading

import grpc
import pytest

from streamspace.v1 import types_pb2
from streamspace_sdk import Client, StreamSpaceError


def signed_in(live: dict, **kw) -> Client:
    c = Client(live["url"], **kw)
    c.sign_in(live["username"], live["password"])
    return c


def test_sign_in_read_create_stop(live):
    c = signed_in(live)
    assert c.auth.WhoAmI().user.username == "admin"
    assert "demo-desktop" in [t.name for t in c.list_templates()]
    s = c.sessions.create_session(template="demo-desktop").session
    assert c.sessions.GetSession(id=s.id).session.owner_id == c.auth.who_am_i().user.id
    c.sessions.stop_session(id=s.id)


def test_errors_are_typed_with_the_servers_words(live):
    c = Client(live["url"])
    with pytest.raises(StreamSpaceError) as e:
        c.sign_in(live["username"], "not-the-password")
    assert e.value.code == grpc.StatusCode.UNAUTHENTICATED and "password" in e.value.message
    with pytest.raises(StreamSpaceError, match="Sign in first"):
        c.sessions.ListSessions()
    c.sign_in(live["username"], live["password"])
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(StreamSpaceError) as e:
        c.sessions.GetSession(id=missing)
    assert e.value.code_name == "not_found" and missing in e.value.message
    assert isinstance(e.value.__cause__, grpc.RpcError)
    with pytest.raises(StreamSpaceError) as e:
        c.sessions.GetSession(id="nope")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and e.value.message.startswith("id: ")
    down = Client("127.0.0.1:9", api_key="ssk_unused", retry_attempts=2)
    with pytest.raises(StreamSpaceError) as e:
        down.templates.ListTemplates(timeout=10)
    assert e.value.code == grpc.StatusCode.UNAVAILABLE


def test_api_key_works_alone_until_revoked(live):
    admin = signed_in(live)
    created = admin.auth.CreateApiKey(name="py-sdk-test")
    assert created.secret.startswith("ssk_")
    with Client(live["url"], api_key=created.secret) as c:
        assert c.auth.WhoAmI().user.username == "admin"
        list(c.list_sessions(limit=5))
        admin.auth.RevokeApiKey(id=created.api_key.id)
        with pytest.raises(StreamSpaceError) as e:
            c.auth.WhoAmI()
        assert e.value.code == grpc.StatusCode.UNAUTHENTICATED


def test_refresh_before_expiry_happens_once_for_concurrent_calls(live):
    import time

    now = [time.time()]
    seen = []

    def on_tokens(tokens):
        seen.append(tokens)
        # The simulated clock stood 30 s before the first token's expiry; the refreshed token is
        # issued at the real now, so time goes back to real time with it. Without this, a thread
        # scheduled after the refresh (a busy machine) saw the new token inside the margin too.
        if len(seen) > 1:
            now[0] = time.time()

    c = Client(live["url"], clock=lambda: now[0], on_tokens=on_tokens)
    c.sign_in(live["username"], live["password"])
    first = c.tokens
    now[0] = first.access_expires_at - 30  # inside the 60 s margin
    errors = []

    def call():
        try:
            c.auth.WhoAmI()
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(seen) == 2, "one sign-in and exactly one refresh"
    assert c.tokens.access_token != first.access_token
    with pytest.raises(StreamSpaceError, match="already used"):
        c.auth.Refresh(refresh_token=first.refresh_token)


def test_refused_token_is_refreshed_and_the_call_repeated(live):
    t = signed_in(live).tokens
    from dataclasses import replace
    broken = replace(t, access_token=t.access_token[:-4] + "AAAA")
    seen = []
    c = Client(live["url"], tokens=broken, on_tokens=seen.append)
    assert c.auth.WhoAmI().user.username == "admin"
    assert len(seen) == 2, "the resumed pair, then the refreshed one"
    c.sign_out()
    assert c.tokens is None
    with pytest.raises(StreamSpaceError, match="Sign in first"):
        c.auth.WhoAmI()


def test_paging_walks_every_page_and_stops_at_a_limit(live):
    c = signed_in(live)
    for i in range(5):
        c.templates.CreateTemplate(template=types_pb2.Template(
            name=f"py-paging-{i}", image="builtin:demo", platform=types_pb2.PLATFORM_LOCAL))
    templates = list(c.list_templates(page_size=2))
    names = {t.name for t in templates}
    assert {f"py-paging-{i}" for i in range(5)} <= names
    assert len({t.id for t in templates}) == len(templates)
    assert len(list(c.list_templates(page_size=2, limit=3))) == 3
    assert any(a.id == "local-1" for a in c.list_agents())
    assert any(u.username == "admin" for u in c.list_users(page_size=1))
