"""A test's own HTTP server on a free loopback port, in a thread of the test process."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def serving(server: Any) -> Iterator[str]:
    """Serve ``server`` (any ``socketserver``-style server) until the block ends; its base URL."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
