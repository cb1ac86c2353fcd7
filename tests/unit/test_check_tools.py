"""`make check`'s tool step (tests/tools.py): installs what is missing when it may, otherwise
one line naming the command to run."""

import pytest

from tests import tools


def test_nothing_missing_is_nothing_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda command: f"/usr/bin/{command}")
    assert tools.main([]) == 0


def test_without_root_it_says_in_one_line_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda command: None)
    monkeypatch.setattr(tools.os, "geteuid", lambda: 1000)
    assert tools.main([]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert "sudo apt-get install -y chromium docker-compose" in line


def test_as_root_it_installs_with_apt_get(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(tools.shutil, "which", lambda c: None if c == "chromium" else f"/bin/{c}")
    monkeypatch.setattr(tools.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        tools.subprocess,
        "run",
        lambda args, **kw: ran.append(args) or type("R", (), {"returncode": 0}),
    )
    assert tools.main([]) == 0
    assert ran == [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]]
