"""Every exception of the service, framework-free: one root, TriageError, and its subclasses."""

from __future__ import annotations


class TriageError(Exception):
    """Root of the service's own errors."""


class ConfigError(TriageError):
    """A setting is invalid: the service must not start."""


class RulesetError(TriageError):
    """The rules folder is invalid: the service must not start."""


class ConditionError(ValueError):
    """A condition that does not parse or names something outside the vocabulary."""


class EngineError(TriageError):
    """The rule engine failed during an evaluation: answer 500, never a guessed level."""


class CaseFileError(TriageError):
    """A case or vignette file does not have the documented shape."""


class SiteDataError(TriageError):
    """A rule case or vignette the pages cannot show: the service must not start."""


class BadRequestBody(TriageError):
    """The body is not one well-formed JSON document (400)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnencodableBody(TriageError):
    """The body is JSON but holds a string with no UTF-8 form (a lone surrogate escape): 422."""


class QuestionnaireError(ValueError):
    """The manifest says when a question is asked in a way the Questionnaire cannot carry."""


class ResponseError(Exception):
    """The resource cannot be read as an intake.

    kind: 'structure' (not a usable QuestionnaireResponse), 'foreign' (not an answer to our
    Questionnaire) or 'answer' (an answer that cannot be an intake value; link_id names it).
    link_id is only ever one of our own linkIds: a made-up one could be patient data.
    """

    def __init__(self, kind: str, detail: str, link_id: str | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.link_id = link_id
