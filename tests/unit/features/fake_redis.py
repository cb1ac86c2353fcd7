"""An in-memory stand-in for the few redis.Redis calls the feature store makes."""

from typing import Any


class FakeRedis:
    """Just enough of redis.Redis: get, mget, set and a pipeline that records them."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.ttls: dict[str, int | None] = {}
        self.round_trips = 0

    def get(self, name: str) -> bytes | None:
        self.round_trips += 1
        return self.data.get(name)

    def pipeline(self, transaction: bool = True) -> "FakePipeline":
        return FakePipeline(self)


class FakePipeline:
    def __init__(self, client: FakeRedis) -> None:
        self.client = client
        self.commands: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def set(self, name: str, value: bytes, ex: int | None = None) -> "FakePipeline":
        self.commands.append(("set", (name, value), {"ex": ex}))
        return self

    def mget(self, keys: list[str]) -> "FakePipeline":
        self.commands.append(("mget", (keys,), {}))
        return self

    def execute(self) -> list[Any]:
        self.client.round_trips += 1
        results: list[Any] = []
        for command, args, kwargs in self.commands:
            if command == "set":
                self.client.data[args[0]] = args[1]
                self.client.ttls[args[0]] = kwargs["ex"]
                results.append(True)
            else:
                results.append([self.client.data.get(key) for key in args[0]])
        self.commands = []
        return results
