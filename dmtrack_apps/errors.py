"""Errors the entry points report as one line, without a traceback."""


class UserError(Exception):
    """An error caused by the user's input: printed as one line, without a traceback."""
