"""Rewrite the README's example response from the service as it answers now (`make docs`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def regenerate() -> None:
    """The curl body of the README's example posted now; its JSON block replaced by the answer."""
    from service import create_app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (body,) = re.findall(r"curl -s -X POST \S+/v1/triage .* -d '(.+)'", readme)
    answer = create_app().test_client().post("/v1/triage", json=json.loads(body)).get_json()
    shown = "```json\n" + json.dumps(answer, indent=4, ensure_ascii=False) + "\n```"
    text = re.sub(r"```json\n(.+?)\n```", lambda _match: shown, readme, count=1, flags=re.DOTALL)
    (ROOT / "README.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    regenerate()
