"""supervisord event listener: kill what a component that died left behind.

supervisord starts every program as the leader of a process group of its own and stops a
program by signalling its whole group; but a program that dies on its own (kill -9 of a
Celery worker's main process or of the API's gunicorn master) leaves its children without a
parent: Celery pool children still holding tasks, gunicorn workers still holding the API's
port. On every exit of a program (``PROCESS_STATE_EXITED``, or ``BACKOFF`` when it died
while starting) this kills every process of supervisord's session whose group leader is
gone. Run as ``python -m app.stack.orphans`` from the config ``app.stack.supervisor`` writes.
"""

import os
import sys

from supervisor import childutils

from app.stack.procs import kill, orphans


def sweep() -> list[str]:
    """Kill the orphans of supervisord's session; describe each one killed.

    Only when supervisord leads a session of its own (``Supervisor`` starts it so): in a
    terminal's session a group without its leader may be anyone's.
    """
    sid = os.getsid(0)
    if sid != os.getppid():
        return []
    found = orphans(sid)
    described = [f"{proc.pid} (group {proc.pgid}): {proc.command()[:200]}" for proc in found]
    kill(found)
    return described


def main() -> None:
    """The listener loop (stdout is supervisord's protocol channel; messages go to stderr)."""
    while True:
        headers, _payload = childutils.listener.wait(sys.stdin, sys.stdout)
        for killed in sweep():
            print(f"{headers['eventname']}: killed orphan {killed}", file=sys.stderr, flush=True)
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
