"""The clinical vignette suite: realistic patients, each through POST /v1/triage."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from service.review.cases import Case
from tests.helpers import expectation_errors, vignettes

VIGNETTES = vignettes()


@pytest.mark.parametrize("vignette", VIGNETTES, ids=[v.name for v in VIGNETTES])
def test_vignette(vignette: Case, client: FlaskClient) -> None:
    """The vignette's level, urgency and expected rules."""
    response = client.post("/v1/triage", json=vignette.intake)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert not expectation_errors(vignette, body), expectation_errors(vignette, body)


def test_at_least_sixty_vignettes_with_unique_ids() -> None:
    """Sixty or more, each named once, each with a line of reasoning citing clinical.md."""
    assert len(VIGNETTES) >= 60
    assert len({v.name.split()[0] for v in VIGNETTES}) == len(VIGNETTES)
    assert all("clinical.md" in v.reasoning for v in VIGNETTES)
