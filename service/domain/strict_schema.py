"""The base of every Marshmallow schema here: an unknown key is an error, never ignored."""

from __future__ import annotations

from marshmallow import RAISE, Schema


class StrictSchema(Schema):
    """Unknown keys raise: a misspelled red flag silently ignored would be a safety defect."""

    class Meta:
        unknown = RAISE
