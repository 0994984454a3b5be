"""forefoot-triage: a stateless triage rules service for ball-of-foot pain."""

from service.app import create_app

__all__ = ["create_app"]
