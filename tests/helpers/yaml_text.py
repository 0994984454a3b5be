"""YAML as the tests read and write their own copies of files: PyYAML on libyaml.

PyYAML's wheels bundle libyaml; its pure-Python parser and emitter took seconds per rules
folder under coverage. The same documents either way (tests/web/test_page_cache.py checks the
service's reader, which uses libyaml too).
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load_yaml(text: str) -> Any:
    """yaml.safe_load, on libyaml."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a SafeLoader)


def dump_yaml(data: Any, **options: Any) -> str:
    """yaml.safe_dump, on libyaml (the same options)."""
    text: str = yaml.dump(data, Dumper=_DUMPER, **options)
    return text
