"""schemathesis over the whole openapi.yaml, in-process, all checks, valid and invalid data."""

from __future__ import annotations

import schemathesis
from flask import Flask

from tests.helpers import ROOT, make_app

schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml")
APP: Flask = make_app()


@schema.parametrize()
def test_contract(case: schemathesis.Case) -> None:
    """Every operation answers as the contract says, for generated valid and invalid requests."""
    case.call_and_validate(app=APP)
