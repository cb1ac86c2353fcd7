"""What `make check` needs beyond `make test`: Debian's chromium (the browser tests) and
docker-compose (the compose validation). Installed with apt-get when this user may (root, or
sudo without a password); otherwise one line says what to run, and the exit status is 1.

``--services``: exit 0 when this machine runs PostgreSQL (5432) and Redis (6379) on loopback,
for the integration pass against them.
"""

import os
import shutil
import socket
import subprocess
import sys

TOOLS = {"chromium": "chromium", "docker-compose": "docker-compose"}  # command -> package
SERVICES = {"PostgreSQL": 5432, "Redis": 6379}


def missing_packages() -> list[str]:
    return [package for command, package in TOOLS.items() if shutil.which(command) is None]


def _may_install() -> list[str] | None:
    """The command prefix that runs apt-get as root here, or None."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"]).returncode == 0:
        return ["sudo", "-n"]
    return None


def install(packages: list[str]) -> int:
    prefix = _may_install()
    command = f"sudo apt-get install -y {' '.join(packages)}"
    if prefix is None:
        print(f"make check needs {', '.join(packages)}: run `{command}`, then make check again")
        return 1
    print(f"--- installing {' '.join(packages)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        if subprocess.run([*prefix, *step], env=env, stdout=subprocess.DEVNULL).returncode:
            print(f"installing failed: run `{command}`, then make check again")
            return 1
    return 0


def services_up() -> bool:
    for port in SERVICES.values():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
    return True


def main(argv: list[str]) -> int:
    if argv == ["--services"]:
        up = services_up()
        if not up:
            print("--- no PostgreSQL and Redis on this machine's standard ports: pass skipped")
        return 0 if up else 1
    packages = missing_packages()
    return install(packages) if packages else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
