"""One error type for every failed call: the gRPC code to branch on and the control plane's
message, a sentence a person can act on. The original grpc.RpcError stays as __cause__."""

from __future__ import annotations

import grpc


class StreamSpaceError(Exception):
    """A failed call. ``code`` is a grpc.StatusCode, ``code_name`` its canonical lower-case name
    ("not_found", "unauthenticated", ...), ``message`` the server's words."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(f"{code.name.lower()}: {message}")
        self.code = code
        self.message = message

    @property
    def code_name(self) -> str:
        return self.code.name.lower()

    @classmethod
    def from_rpc(cls, err: grpc.RpcError) -> StreamSpaceError:
        code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        details = err.details() if hasattr(err, "details") else str(err)
        return cls(code or grpc.StatusCode.UNKNOWN, details or "")
