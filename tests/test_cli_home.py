"""Which workspace a command uses: --home (before or after the command name) beats
DRIVESTATS_HOME, which beats the default."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from drivestats.cli import cli


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--home", "{given}", "log"], "given"),
        (["log", "--home", "{given}"], "given"),
        (["log"], "environment"),
    ],
)
def test_home_given_on_the_command_line_beats_the_environment(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    places = {"given": tmp_path / "given", "environment": tmp_path / "environment"}
    argv = [a.replace("{given}", str(places["given"])) for a in args]
    result = CliRunner().invoke(cli, argv, env={"DRIVESTATS_HOME": str(places["environment"])})
    assert result.exit_code == 0, result.output
    assert f"no runs recorded in {places[expected]} yet" in " ".join(result.output.split())
