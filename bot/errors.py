"""Errors a user can hit. The CLI turns each into one clear paragraph and an exit code."""

from __future__ import annotations


class MovebotError(Exception):
    """Base class: `str(error)` is the whole message for the user."""

    exit_code = 1


class UserError(MovebotError):
    """Something the user must fix: config, input, headers, tabs, credentials, sharing."""

    exit_code = 2


class BadConfig(UserError):
    pass


class MissingTab(UserError):
    pass


class MissingHeader(UserError):
    pass


class BadInput(UserError):
    pass


class SheetUnavailable(UserError):
    """The sheet cannot be reached for a reason the user can fix (403 sharing, 404 id)."""


class SourceChanged(UserError):
    """The source changed under the run in a way that makes its plan untrustworthy."""


class ServiceFailure(MovebotError):
    """The Sheets API or Google's token endpoint kept failing after retries."""

    exit_code = 3
