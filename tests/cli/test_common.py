"""What every client command shares: an error is one line on stderr, with its detail."""

from __future__ import annotations

import pytest
import typer

from aiot.cli.common import reporting
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
