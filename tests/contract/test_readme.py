"""The README's example is the real answer the service gives today."""

from __future__ import annotations

import json
import re

from flask.testing import FlaskClient

from tests.helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_example_response_is_current(client: FlaskClient) -> None:
    """The curl body, posted now, gives the JSON shown (apart from the fresh decision_id)."""
    (body,) = re.findall(r"curl -s -X POST \S+/v1/triage .* -d '(.+)'", README)
    (shown,) = re.findall(r"```json\n(.+?)\n```", README, flags=re.DOTALL)
    expected = json.loads(shown)
    actual = client.post("/v1/triage", json=json.loads(body)).get_json()
    expected.pop("decision_id")
    actual.pop("decision_id")
    assert actual == expected


def test_readme_shows_the_two_commands() -> None:
    """make run and make test, as the developers' guide requires."""
    assert "make run" in README
    assert "make test" in README


def test_every_curl_example_pastes_as_written(client: FlaskClient) -> None:
    """Each curl in the README posts a body that parses and is answered 200, and the FHIR and
    CDS answers shown (trimmed) lead with what the service answers now."""
    examples = re.findall(
        r"^curl -s -X POST '?http://127\.0\.0\.1:8000(\S+?)'? .* -d '(.+)'$", README, re.M
    )
    assert len(examples) == 3
    answers = {}
    for path, body in examples:
        content_type = "application/fhir+json" if path.startswith("/fhir") else "application/json"
        response = client.post(path, data=body, content_type=content_type)
        assert response.status_code == 200, path
        answers[path] = response.get_json(force=True)
    shown = [
        json.loads(block.replace('"…"', "null"))
        for block in re.findall(r"```text\n(\{.+?\})\n```", README, flags=re.DOTALL)
    ]
    guidance = next(b for b in shown if b.get("resourceType") == "GuidanceResponse")
    card = next(b for b in shown if "cards" in b)["cards"][0]
    assert guidance["status"] == answers["/fhir/QuestionnaireResponse/$triage"]["status"]
    assert card["summary"] == answers["/cds-services/forefoot-triage"]["cards"][0]["summary"]
