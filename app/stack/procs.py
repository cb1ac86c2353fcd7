"""Processes as /proc shows them: by session and process group, zombies excluded."""

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    """One running process: its id, process group and session."""

    pid: int
    pgid: int
    sid: int

    def command(self) -> str:
        """Its command line (empty once it is gone)."""
        with contextlib.suppress(OSError):
            raw = Path(f"/proc/{self.pid}/cmdline").read_bytes()
            return raw.replace(b"\0", b" ").decode(errors="replace").strip()
        return ""


def running() -> list[Proc]:
    """Every process that runs now (zombies awaiting their reaper are not running)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name (field 2) may hold spaces and parentheses: split after it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                found.append(Proc(int(stat.parent.name), int(fields[2]), int(fields[3])))
    return found


def in_session(sid: int) -> list[Proc]:
    """The running processes of session ``sid``."""
    return [proc for proc in running() if proc.sid == sid]


def orphans(sid: int) -> list[Proc]:
    """Processes of session ``sid`` whose process-group leader has exited.

    The session leader's own group is never an orphan: its leader is the caller's
    concern. A group leader is one whose pid is its group's id.
    """
    procs = in_session(sid)
    leaders = {proc.pid for proc in procs if proc.pid == proc.pgid}
    return [proc for proc in procs if proc.pgid != sid and proc.pgid not in leaders]


def kill(procs: list[Proc]) -> None:
    """SIGKILL each of ``procs`` (those already gone are skipped)."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
