"""What a batch of invalid intakes costs against a batch of valid ones, in process.

Errors must not cost far more than answers: a client (or an attacker) sending intakes full of
wrong values and made-up keys must not buy seconds of CPU per request. This times
POST /v1/triage/batch through the Flask test client (JSON parsing, validation, the 422
problems or the answers, serialisation) with 100 valid vignette intakes and with 100 invalid
intakes as bad as the body limit allows (4 KiB each: every finding with a wrong value and, around
them, near misses of finding names, each of which asks for a "did you mean" hint), and prints
the ratio of their CPU times.

Run standalone (``.venv/bin/python -m bench.error_cost``) or call ``measure()``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from service import create_app  # noqa: E402
from service.domain.findings import FINDINGS  # noqa: E402
from service.http.batch import BYTES_PER_INTAKE  # noqa: E402
from service.review.cases import load_vignettes  # noqa: E402

BATCH_SIZE = 100


def valid_intakes(count: int = BATCH_SIZE) -> list[dict[str, Any]]:
    """The vignette intakes, cycled to `count`."""
    vignettes = load_vignettes(ROOT / "tests" / "vignettes" / "vignettes.yaml")
    return [vignettes[index % len(vignettes)].intake for index in range(count)]


def _wrong(name: str) -> Any:
    """A value of the wrong kind for this finding: past the range, or a word it never takes."""
    finding = FINDINGS[name]
    return finding.bounds[1] + 1 if finding.is_numeric else "perhaps"


def invalid_intake(seed: int = 0, budget: int = BYTES_PER_INTAKE - 96) -> dict[str, Any]:
    """Near misses of finding names, every finding wrong, near misses up to `budget` bytes.

    A near miss is one letter off a finding name, so a "did you mean" hint is looked for; the
    first ones come before the wrong values so that the listed errors include them. seed varies
    the made-up keys, so that no intake repeats another's.
    """
    names = sorted(FINDINGS)
    misses = (
        f"{names[(seed + index) % len(names)][:-1]}{(seed // len(names) + index) % 10}"
        for index in itertools.count()
    )
    intake: dict[str, dict[str, Any]] = {"symptoms": {next(misses): "yes" for _ in range(5)}}
    for name, finding in FINDINGS.items():
        intake.setdefault(finding.group, {})[name] = _wrong(name)
    while len(json.dumps(intake)) < budget:
        intake["symptoms"][f"{next(misses)}{len(intake['symptoms'])}"] = "yes"
    return intake


def invalid_intakes(count: int = BATCH_SIZE) -> list[dict[str, Any]]:
    """`count` invalid intakes, each as bad as the body limit allows, none the same."""
    return [invalid_intake(seed) for seed in range(count)]


def _cpu_seconds(client: Any, body: bytes) -> float:
    start = time.process_time()
    response = client.post(
        "/v1/triage/batch", data=body, headers={"Content-Type": "application/json"}
    )
    spent = time.process_time() - start
    assert response.status_code == 200, response.get_data(as_text=True)[:200]
    return spent


def measure(rounds: int = 11) -> dict[str, float]:
    """Median CPU seconds of one batch of valid and one of invalid intakes, and their ratio.
    The two alternate: on this shared machine the CPU time of the same batch moves by half
    from one second to the next (19 to 30 ms), and timed in two blocks the ratio moved from
    2.3 to 3.4 between runs."""
    app = create_app({"LOG_LEVEL": "WARNING"})
    client = app.test_client()
    valid = json.dumps({"intakes": valid_intakes()}).encode()
    invalid = json.dumps({"intakes": invalid_intakes()}).encode()
    _cpu_seconds(client, valid)  # warm-up
    _cpu_seconds(client, invalid)
    pairs = [(_cpu_seconds(client, valid), _cpu_seconds(client, invalid)) for _ in range(rounds)]
    valid_s = statistics.median(pair[0] for pair in pairs)
    invalid_s = statistics.median(pair[1] for pair in pairs)
    return {
        "valid_batch_s": valid_s,
        "invalid_batch_s": invalid_s,
        "ratio": invalid_s / valid_s,
        "invalid_body_bytes": float(len(invalid)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    result = measure(args.rounds)
    print(
        f"batch of {BATCH_SIZE} valid intakes:   {result['valid_batch_s'] * 1000:8.1f} ms CPU\n"
        f"batch of {BATCH_SIZE} invalid intakes: {result['invalid_batch_s'] * 1000:8.1f} ms CPU "
        f"({result['invalid_body_bytes'] / 1024:.0f} KiB)\n"
        f"invalid / valid: {result['ratio']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
