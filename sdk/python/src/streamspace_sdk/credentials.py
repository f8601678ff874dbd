"""What the client sends as ``authorization``: an API key, or an access/refresh pair from Login.
Access tokens live 15 minutes and refresh tokens are single use (a replayed one revokes the
whole sign-in), so one refresh runs at a time and every thread that needs it waits for it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

import grpc

from .errors import StreamSpaceError


@dataclass(frozen=True)
class TokenSet:
    """An access/refresh pair with their expiry instants (seconds since the epoch)."""

    access_token: str
    access_expires_at: float
    refresh_token: str
    refresh_expires_at: float


RefreshFn = Callable[[str], TokenSet]


class Credentials:
    """Holds the current credential and keeps an access token fresh (thread-safe)."""

    def __init__(
        self,
        refresh: RefreshFn,
        refresh_before: float = 60.0,
        on_tokens: Optional[Callable[[Optional[TokenSet]], None]] = None,
        clock: Callable[[], float] = time.time,
    ):
        self._refresh_fn = refresh
        self._refresh_before = refresh_before
        self._on_tokens = on_tokens
        self._clock = clock
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._refreshing = False
        self._api_key: Optional[str] = None
        self._tokens: Optional[TokenSet] = None

    @property
    def tokens(self) -> Optional[TokenSet]:
        return self._tokens

    def use_api_key(self, key: str) -> None:
        if not key.strip():
            raise ValueError("An API key is required (it starts with ssk_).")
        with self._lock:
            self._api_key, self._tokens = key.strip(), None
        self._notify(None)

    def use_tokens(self, tokens: TokenSet) -> None:
        with self._lock:
            self._api_key, self._tokens = None, tokens
        self._notify(tokens)

    def clear(self) -> None:
        with self._lock:
            self._api_key, self._tokens = None, None
        self._notify(None)

    def authorization(self) -> Optional[str]:
        """The header for the next call, refreshing first when the token is about to expire."""
        key, tokens = self._api_key, self._tokens
        if key:
            return f"Bearer {key}"
        if tokens is None:
            return None
        if tokens.access_expires_at - self._clock() > self._refresh_before:
            return f"Bearer {tokens.access_token}"
        return f"Bearer {self._refresh(tokens).access_token}"

    def recover(self, sent: str) -> bool:
        """After the server refused ``sent``: refresh unless another call already did."""
        tokens = self._tokens
        if self._api_key or tokens is None:
            return False
        if f"Bearer {tokens.access_token}" != sent:
            return True
        self._refresh(tokens)
        return True

    def refresh_now(self) -> bool:
        """Refreshes at once (a stream was refused); False with an API key or no sign-in."""
        tokens = self._tokens
        if self._api_key or tokens is None:
            return False
        self._refresh(tokens)
        return True

    def _refresh(self, current: TokenSet) -> TokenSet:
        with self._lock:
            while self._refreshing:
                self._done.wait()
            if self._tokens is not current and self._tokens is not None:
                return self._tokens  # another thread refreshed while we waited
            if current.refresh_expires_at <= self._clock():
                raise StreamSpaceError(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "The sign-in has expired (its refresh token is past its expiry); sign in again.",
                )
            self._refreshing = True
        fresh: Optional[TokenSet] = None
        try:
            fresh = self._refresh_fn(current.refresh_token)
            return fresh
        finally:
            with self._lock:
                self._refreshing = False
                adopted = fresh is not None and self._tokens is current
                if adopted:
                    self._tokens = fresh
                self._done.notify_all()
            if adopted:
                self._notify(fresh)

    def _notify(self, tokens: Optional[TokenSet]) -> None:
        if self._on_tokens:
            self._on_tokens(tokens)
