"""docker-compose.yml: valid for Compose, every queue consumed, predictions scaled out."""

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from app.cli import main as bullpen
from app.queues import QUEUE_NAMES as QUEUES
from app.queues import compose_workers

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _queues(service: dict) -> list[str]:
    command = service["command"]
    return command[command.index("--queues") + 1].split(",")


def _workers() -> dict[str, dict]:
    return {
        name: service
        for name, service in _services().items()
        if service.get("command", [None, None])[:2] == ["bullpen", "worker"]
    }


def test_every_queue_is_consumed_by_exactly_one_kind_of_worker():
    consumed = [queue for service in _workers().values() for queue in _queues(service)]
    assert sorted(consumed) == sorted(QUEUES)


def test_the_workers_are_those_the_queue_declaration_derives():
    """docker-compose.yml is static: its workers must say what app/queues.py declares."""
    declared = {worker.name: (worker.arguments(), worker.replicas) for worker in compose_workers()}
    found = {
        name: (service["command"][1:], service.get("deploy", {}).get("replicas", 1))
        for name, service in _workers().items()
    }
    assert found == declared


def test_predictions_run_on_several_replicas_of_a_predict_only_worker():
    service = _workers()["worker-predict"]
    assert _queues(service) == ["predict"]
    assert service["deploy"]["replicas"] >= 2
    # Replicas share the environment (one broker, one database) of every other component.
    assert service["environment"] == _services()["api"]["environment"]


@pytest.mark.parametrize("name", ["init", "api", "worker-predict", "worker", "worker-training"])
def test_bullpen_commands_parse_under_the_real_cli(name):
    command = _services()[name]["command"]
    assert command[0] == "bullpen"
    # click raises on an unknown command or option; resilient_parsing keeps it from running.
    group_context = bullpen.make_context("bullpen", list(command[1:]), resilient_parsing=True)
    sub = bullpen.get_command(group_context, command[1])
    assert sub is not None, f"no `bullpen {command[1]}`"
    sub.make_context(command[1], list(command[2:]))


def _probed_component(service: dict) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bullpen", "probe"], test
    return test[3]


def test_every_service_has_a_health_check_that_probes_what_it_runs():
    services = _services()
    for name, service in services.items():
        if name == "init":
            continue
        assert "healthcheck" in service, f"{name} has no health check"
        command = service.get("command", [])
        if command[:1] == ["bullpen"]:
            assert _probed_component(service) == command[1], name
    assert _probed_component(services["mlflow"]) == "mlflow"


def test_init_runs_first_once_postgres_and_redis_are_healthy():
    services = _services()
    assert services["init"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    for name, service in services.items():
        if name not in {"init", "postgres", "redis"}:
            assert service["depends_on"]["init"] == {
                "condition": "service_completed_successfully"
            }, name


@pytest.mark.parametrize("component", ["api", "worker", "beat", "flower", "mlflow"])
def test_probe_commands_parse_under_the_real_cli(component):
    probe = bullpen.get_command(bullpen.make_context("bullpen", ["probe"]), "probe")
    probe.make_context("probe", [component])


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.mark.compose
def test_compose_itself_accepts_the_file():
    cli = _compose_cli()
    # `make check` installs docker-compose (or stops first, naming it): here it fails, never skips.
    assert cli is not None, "neither `docker compose` nor `docker-compose` is installed"
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True
    )
    assert result.returncode == 0, f"{shlex.join(cli)} config: {result.stderr}"
