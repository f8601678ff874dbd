"""The StreamSpace client: the generated gRPC stubs of the five public services behind one
credential, plus sign-in, refresh, typed errors, paging and a watch that reconnects.

Each service is reached as ``client.sessions``, ``client.templates``, ``client.agents``,
``client.auth`` and ``client.users``; methods take the request message or its fields as keyword
arguments, by their proto name or in snake_case: ``client.sessions.CreateSession(template=...)``
and ``client.sessions.create_session(template=...)`` are the same call.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Iterator, Optional, Sequence
from urllib.parse import urlparse

import grpc
from google.protobuf import message_factory

from streamspace.v1 import (
    agent_service_pb2,
    agent_service_pb2_grpc,
    auth_service_pb2,
    auth_service_pb2_grpc,
    session_service_pb2,
    session_service_pb2_grpc,
    template_service_pb2,
    template_service_pb2_grpc,
    types_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)

from .credentials import Credentials, TokenSet
from .errors import StreamSpaceError
from .paginate import paginate
from .watch import SessionWatch

_ANONYMOUS = {"Login", "Refresh"}
_MAX_PAGE = 500


def _is_idempotent_read(method: str) -> bool:
    return method.startswith(("Get", "List", "WhoAmI"))


def _camel(name: str) -> str:
    return name if name[:1].isupper() else "".join(p.title() for p in name.split("_"))


class Service:
    """One service: attribute access gives a callable per RPC (see the module docstring)."""

    def __init__(self, client: "Client", stub: Any, descriptor: Any):
        self._client = client
        self._stub = stub
        self._descriptor = descriptor

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = self._descriptor.methods_by_name.get(_camel(name))
        if method is None:
            raise AttributeError(f"{self._descriptor.name} has no method {name}")
        request_type = message_factory.GetMessageClass(method.input_type)
        rpc = getattr(self._stub, method.name)
        streaming = method.server_streaming

        def call(request: Any = None, *, timeout: Optional[float] = None, **fields: Any) -> Any:
            if request is None:
                request = request_type(**fields)
            elif fields:
                raise TypeError("pass either a request message or its fields, not both")
            return self._client._invoke(rpc, method.name, request, timeout, streaming)

        call.__name__ = method.name
        return call


class Client:
    """A client for one control plane (or a balancer in front of several)."""

    def __init__(
        self,
        target: str,
        *,
        api_key: Optional[str] = None,
        tokens: Optional[TokenSet] = None,
        on_tokens: Optional[Callable[[Optional[TokenSet]], None]] = None,
        refresh_before: float = 60.0,
        retry_attempts: int = 3,
        clock: Callable[[], float] = time.time,
        channel: Optional[grpc.Channel] = None,
    ):
        """``target`` is the control plane's URL (``http://host:8080``, ``https://…``) or
        ``host:port``; ``channel`` replaces the channel built from it (TLS settings, options)."""
        self._channel = channel or _channel_for(target)
        self._retry_attempts = max(1, retry_attempts)
        self._creds = Credentials(self._refresh, refresh_before, on_tokens, clock)
        if api_key:
            self._creds.use_api_key(api_key)
        elif tokens:
            self._creds.use_tokens(tokens)
        ch = self._channel
        self.sessions = Service(self, session_service_pb2_grpc.SessionServiceStub(ch),
                                session_service_pb2.DESCRIPTOR.services_by_name["SessionService"])
        self.templates = Service(self, template_service_pb2_grpc.TemplateServiceStub(ch),
                                 template_service_pb2.DESCRIPTOR.services_by_name["TemplateService"])
        self.agents = Service(self, agent_service_pb2_grpc.AgentServiceStub(ch),
                              agent_service_pb2.DESCRIPTOR.services_by_name["AgentService"])
        self.auth = Service(self, auth_service_pb2_grpc.AuthServiceStub(ch),
                            auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"])
        self.users = Service(self, user_service_pb2_grpc.UserServiceStub(ch),
                             user_service_pb2.DESCRIPTOR.services_by_name["UserService"])

    # -- credentials -------------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> types_pb2.User:
        """Password sign-in; later calls carry the access token and refresh it before expiry."""
        res = self.auth.Login(username=username, password=password)
        self._creds.use_tokens(_token_set(res.tokens))
        return res.user

    def use_api_key(self, key: str) -> None:
        self._creds.use_api_key(key)

    @property
    def tokens(self) -> Optional[TokenSet]:
        return self._creds.tokens

    def sign_out(self) -> None:
        """Revokes the refresh and access tokens on the server, then forgets them."""
        tokens = self._creds.tokens
        try:
            if tokens:
                self.auth.Logout(refresh_token=tokens.refresh_token)
        finally:
            self._creds.clear()

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------------------------

    def list_sessions(self, *, page_size: int = _MAX_PAGE, limit: Optional[int] = None,
                      **filters: Any) -> Iterator[types_pb2.Session]:
        """Every session matching ``filters`` (states, owner_id, agent_id, template_id)."""
        return paginate(lambda token: self._page(
            self.sessions.ListSessions(page_size=page_size, page_token=token, **filters),
            "sessions"), limit)

    def list_templates(self, *, page_size: int = _MAX_PAGE,
                       limit: Optional[int] = None) -> Iterator[types_pb2.Template]:
        return paginate(lambda token: self._page(
            self.templates.ListTemplates(page_size=page_size, page_token=token), "templates"), limit)

    def list_agents(self, *, states: Sequence[int] = (), page_size: int = _MAX_PAGE,
                    limit: Optional[int] = None) -> Iterator[types_pb2.Agent]:
        return paginate(lambda token: self._page(
            self.agents.ListAgents(page_size=page_size, page_token=token, states=list(states)),
            "agents"), limit)

    def list_users(self, *, page_size: int = _MAX_PAGE,
                   limit: Optional[int] = None) -> Iterator[types_pb2.User]:
        return paginate(lambda token: self._page(
            self.users.ListUsers(page_size=page_size, page_token=token), "users"), limit)

    def watch_sessions(self, session_id: str = "", **options: Any) -> SessionWatch:
        """Session changes as an iterator that reconnects by itself (see watch.py)."""
        return SessionWatch(
            open_stream=lambda: self._open_watch(session_id),
            list_visible=lambda: self.list_sessions(),
            reauthenticate=self._creds.refresh_now,
            session_id=session_id,
            **options,
        )

    # -- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def _page(res: Any, field: str) -> tuple[list[Any], str]:
        return list(getattr(res, field)), res.next_page_token

    def _refresh(self, refresh_token: str) -> TokenSet:
        return _token_set(self.auth.Refresh(refresh_token=refresh_token).tokens)

    def _metadata(self, method: str) -> tuple[Optional[str], list[tuple[str, str]]]:
        if method in _ANONYMOUS:
            return None, []
        sent = self._creds.authorization()
        return sent, [("authorization", sent)] if sent else []

    def _open_watch(self, session_id: str) -> Any:
        _, md = self._metadata("WatchSessions")
        stub = self.sessions._stub  # noqa: SLF001 - the raw call, so the watch can cancel it
        return stub.WatchSessions(session_service_pb2.WatchSessionsRequest(session_id=session_id),
                                  metadata=md)

    def _invoke(self, rpc: Any, method: str, request: Any, timeout: Optional[float],
                streaming: bool) -> Any:
        if streaming:
            _, md = self._metadata(method)
            return _rethrowing(rpc(request, timeout=timeout, metadata=md))
        attempts = self._retry_attempts if _is_idempotent_read(method) else 1
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            sent, md = self._metadata(method)
            try:
                return rpc(request, timeout=timeout, metadata=md)
            except grpc.RpcError as err:
                code = err.code()
                if (code == grpc.StatusCode.UNAUTHENTICATED and sent and not refreshed
                        and self._creds.recover(sent)):
                    refreshed = True
                    attempt -= 1
                    continue
                if code == grpc.StatusCode.UNAVAILABLE and attempt < attempts:
                    time.sleep(random.uniform(0, min(2.0, 0.1 * 2 ** (attempt - 1))))
                    continue
                raise StreamSpaceError.from_rpc(err) from err


def _rethrowing(stream: Any) -> Iterator[Any]:
    try:
        yield from stream
    except grpc.RpcError as err:
        raise StreamSpaceError.from_rpc(err) from err


def _token_set(pair: auth_service_pb2.TokenPair) -> TokenSet:
    if not pair.access_token:
        raise StreamSpaceError(grpc.StatusCode.INTERNAL, "The server answered without tokens.")
    return TokenSet(
        access_token=pair.access_token,
        access_expires_at=pair.access_expire_time.ToNanoseconds() / 1e9,
        refresh_token=pair.refresh_token,
        refresh_expires_at=pair.refresh_expire_time.ToNanoseconds() / 1e9,
    )


def _channel_for(target: str) -> grpc.Channel:
    if "://" not in target:
        return grpc.insecure_channel(target)
    u = urlparse(target)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"{target!r} is not a control-plane URL; use http://host:8080 or host:8080")
    host = f"[{u.hostname}]" if ":" in u.hostname else u.hostname
    port = u.port or (443 if u.scheme == "https" else 80)
    address = f"{host}:{port}"
    if u.scheme == "https":
        return grpc.secure_channel(address, grpc.ssl_channel_credentials())
    return grpc.insecure_channel(address)
