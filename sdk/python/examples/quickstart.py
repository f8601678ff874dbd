"""Quickstart: sign in, launch the demo desktop, follow it to running, print its viewer path,
stop it.

    STREAMSPACE_URL=http://127.0.0.1:8080 STREAMSPACE_PASSWORD=... python examples/quickstart.py

With STREAMSPACE_API_KEY set instead of a password, the key is used.
"""

import os
import sys

from streamspace.v1 import types_pb2
from streamspace_sdk import Client, StreamSpaceError


def main() -> int:
    url = os.environ.get("STREAMSPACE_URL", "http://127.0.0.1:8080")
    with Client(url, api_key=os.environ.get("STREAMSPACE_API_KEY")) as c:
        try:
            if not os.environ.get("STREAMSPACE_API_KEY"):
                c.sign_in(os.environ.get("STREAMSPACE_USER", "admin"),
                          os.environ.get("STREAMSPACE_PASSWORD", ""))
            session = c.sessions.create_session(template="demo-desktop").session
            print("created", session.id)
            with c.watch_sessions(session.id) as watch:
                for event in watch:
                    print("state", types_pb2.SessionState.Name(event.session.state))
                    if event.session.state == types_pb2.SESSION_STATE_RUNNING:
                        print("viewer", url + event.session.viewer_path)
                        break
            c.sessions.stop_session(id=session.id)
            print("sessions visible:", sum(1 for _ in c.list_sessions()))
        except StreamSpaceError as err:
            print(f"{err.code_name}: {err.message}", file=sys.stderr)  # e.g. a wrong password
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
