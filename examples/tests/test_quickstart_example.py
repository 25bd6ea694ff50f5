"""examples/quickstart: quickstart.sh runs the two-machine quick start on one machine (two
data directories, 127.0.0.1 ports) to the end: the entry published on machine 1 is read on
machine 2, and machine 2's task is completed by machine 1's worker."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "quickstart" / "quickstart.sh"


def test_quickstart_script_runs_to_the_end(plexus_binary: Path, tmp_path: Path) -> None:
    work = tmp_path / "quickstart"
    result = subprocess.run(
        ["bash", str(SCRIPT)],
        env={**os.environ, "PLEXUS": str(plexus_binary), "QUICKSTART_DIR": str(work)},
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    out = result.stdout
    assert "published " in out
    read_on_machine_2 = out.split("== machine 2 reads it", 1)[1]
    assert '{"text":"hello from machine 1"}' in read_on_machine_2
    assert "completed  echo" in out and 'result {"text":"hello from machine 2"}' in out
    # Both nodes ran on their own data directories, and the script stopped them.
    for machine in ("machine1", "machine2"):
        assert (work / machine / "identity.json").exists()
        assert not _running(work / machine)


def _running(data_dir: Path) -> bool:
    """Whether a process still holds the node's lock (``plexus serve`` flocks DATA/lock)."""
    import fcntl

    with (data_dir / "lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
