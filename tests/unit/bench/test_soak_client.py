"""The soak's client is open-loop: it sends on schedule however long the jobs take, and
measures from the moment each request was due (the first soak's client fell behind its rate
when jobs slowed down: its threads each waited for their job)."""

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

JOB_SECONDS = 2.0  # every job takes this long, far longer than the interval between sends
RATE = 20.0  # a second
SENDING_SECONDS = 1.5


class SlowJobs(BaseHTTPRequestHandler):
    """A fake API: a job is accepted at once and finishes ``JOB_SECONDS`` later; a poll with
    ``?wait=`` waits for it like the real long poll."""

    created: dict[str, float] = {}
    lock = threading.Lock()

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict) -> None:
        # HTTP/1.0 (the handler's default): the body ends with the connection.
        self.send_response(status)
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            job_id = str(len(self.created))
            self.created[job_id] = time.time()
        self._send(202, {"job_id": job_id})

    def do_GET(self) -> None:
        job_id = self.path.split("/jobs/")[1].split("?")[0]
        ends = self.created[job_id] + JOB_SECONDS
        time.sleep(max(0.0, ends - time.time()))
        finished = datetime.fromtimestamp(ends, UTC)
        self._send(200, {"status": "succeeded", "finished_at": finished.isoformat()})


class _Server(ThreadingHTTPServer):
    # A connection a request (HTTP/1.0) from the senders and the pollers: the default listen
    # backlog of 5 would drop a burst's connections for the kernel to retry later.
    request_queue_size = 128


@pytest.fixture
def api() -> Iterator[str]:
    SlowJobs.created = {}
    server = _Server(("127.0.0.1", 0), SlowJobs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_soak_sends_on_schedule_while_jobs_are_slow(soak, api: str, monkeypatch) -> None:
    # Fewer senders than jobs in flight (RATE x JOB_SECONDS = 40): a client whose senders
    # waited for their jobs would send 4 in the first 2 s instead of 30.
    monkeypatch.setattr(soak.Load, "SENDERS", 4)
    record = soak.Record()
    load = soak.Load(SimpleNamespace(api_url=api), record, [1, 2, 3], 2019)
    sender = threading.Thread(target=load.singles, args=(RATE,), daemon=True)
    sender.start()
    time.sleep(SENDING_SECONDS)
    load.stopping.set()
    sender.join()
    sent_in_time = len(SlowJobs.created)
    load.drain()

    expected = RATE * SENDING_SECONDS
    assert sent_in_time >= 0.8 * expected, f"{sent_in_time} sent of {expected:.0f} due"
    assert len(record.requests) == len(SlowJobs.created)
    assert {r.job_status for r in record.requests} == {"succeeded"}
    # Well under a job's length, which a client that waited for its jobs would show; not
    # tighter: this in-process server, beside its 30 pollers on a loaded 2-core machine, once
    # took 592 ms to answer a POST.
    bound_ms = JOB_SECONDS * 1000 / 2
    assert max(r.send_lag_ms for r in record.requests) < bound_ms
    assert max(r.enqueue_ms for r in record.requests) < bound_ms
    # A result's latency is the job's end minus when it was due: about JOB_SECONDS each,
    # not inflated by any wait of the client.
    results = sorted(r.result_ms / 1000 for r in record.requests)
    assert results[0] > JOB_SECONDS - 0.3 and results[-1] < JOB_SECONDS + 0.5, results
