"""What every client command shares: an error is one line on stderr, with its detail."""

from __future__ import annotations

import logging

import pytest
import typer

from aiot.cli.common import reporting
from aiot.cli.server import configure_logging
from aiot.errors import InvalidInput, NotFound


def test_an_error_prints_its_detail_on_the_same_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit), reporting():
        raise InvalidInput("unknown keys", detail={"missing": ["pressure"]})
    assert capsys.readouterr().err.strip() == (
        'error: unknown keys: {"missing": ["pressure"]} [invalid_input]'
    )
    with pytest.raises(typer.Exit), reporting():
        raise NotFound("no device 'x'")
    assert capsys.readouterr().err.strip() == "error: no device 'x' [not_found]"


def test_log_level_is_checked_and_sets_aiots_log(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        configure_logging("loud")
    assert "--log-level is one of debug, info, warning, error" in capsys.readouterr().err
    configure_logging("warning")
    try:
        logging.getLogger("aiot.mqtt").info("not shown")
        logging.getLogger("aiot.mqtt").warning("shown")
        err = capsys.readouterr().err
        assert "WARNING aiot.mqtt: shown" in err and "not shown" not in err
    finally:
        logging.getLogger("aiot").handlers.clear()
        logging.getLogger("aiot").propagate = True
