"""The ``deploy/`` recipes agree with the program: the compose file is valid YAML with
PostgreSQL and two replicas, the example config loads, the commands they run exist."""

from __future__ import annotations

import re
import shlex

import yaml
from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.config import load_config
from tests.conftest import REPO

DEPLOY = REPO / "deploy"


def test_compose_file_runs_two_replicas_on_postgresql() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    bridge = services["bridge"]
    assert bridge["deploy"]["replicas"] == 2
    assert bridge["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert (DEPLOY / bridge["build"]["context"] / bridge["build"]["dockerfile"]).is_file()
    mounted = [v.split(":") for v in bridge["volumes"]]
    assert [(DEPLOY / host).is_file() for host, _, _ in mounted] == [True]
    assert any("/healthz" in part for part in bridge["healthcheck"]["test"])
    config = load_config(DEPLOY / "bridge.toml")  # the mounted config is one the bridge accepts
    assert config.state.url.startswith("postgresql://")
    assert {f.account for f in config.feeds} == {"default", "school"}


def _run_args(line: str) -> list[str]:
    return shlex.split(line)[1:]  # without the program


def test_the_recipes_run_commands_the_cli_accepts() -> None:
    unit = (DEPLOY / "ical-bridge.service").read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", unit, re.M)
    assert exec_start is not None
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.+\])$", dockerfile, re.M)
    assert cmd is not None and "/healthz" in dockerfile
    for args in (_run_args(exec_start.group(1)), yaml.safe_load(cmd.group(1))):
        assert args[0] == "daemon"
        # every option the recipe passes is one `daemon` knows (checked through --help)
        help_text = CliRunner().invoke(cli, [args[0], "--help"]).output
        for option in (a for a in args if a.startswith("--")):
            assert option in help_text, option
