"""The README's example program runs as shown against the live control plane."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def test_quickstart_example_runs(live):
    env = {**os.environ, "PYTHONPATH": str(HERE / "src"), "STREAMSPACE_URL": live["url"],
           "STREAMSPACE_USER": live["username"], "STREAMSPACE_PASSWORD": live["password"]}
    out = subprocess.run([sys.executable, str(HERE / "examples" / "quickstart.py")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "state SESSION_STATE_RUNNING" in out.stdout and "viewer http://" in out.stdout
    bad = subprocess.run([sys.executable, str(HERE / "examples" / "quickstart.py")],
                         env={**env, "STREAMSPACE_PASSWORD": "wrong"}, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.startswith("unauthenticated: ")
