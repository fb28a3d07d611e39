"""Domain errors. Each carries a stable `code` and `params`; the chat layer and the CLI turn them
into text in the user's language, so nothing here is user-facing prose."""
from __future__ import annotations


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str = "", **params):
        self.params = params
        super().__init__(message or self.code)


class NotFound(DomainError):
    code = "not_found"


class AccessDenied(DomainError):
    code = "access_denied"


class Invalid(DomainError):
    code = "invalid"


class Duplicate(DomainError):
    code = "duplicate"


class ExceedsRemaining(DomainError):
    """A sub-order asks for more than its master order has left."""

    code = "exceeds_remaining"


class NothingToUndo(DomainError):
    code = "nothing_to_undo"


class Ambiguous(DomainError):
    """A name matched several customers or users; params['candidates'] lists them."""

    code = "ambiguous"
