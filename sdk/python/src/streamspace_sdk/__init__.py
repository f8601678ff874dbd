"""StreamSpace Python SDK: ``Client`` over the generated gRPC stubs (``streamspace.v1``)."""

from .client import Client, Service
from .credentials import TokenSet
from .errors import StreamSpaceError
from .paginate import paginate
from .watch import SessionEvent, SessionWatch

__all__ = [
    "Client",
    "Service",
    "SessionEvent",
    "SessionWatch",
    "StreamSpaceError",
    "TokenSet",
    "paginate",
]
