"""Errors an operator command reports as one line and a non-zero exit."""

from tally_contract.errors import TallyError


class OpsError(TallyError):
    """Bad input or a backend that refused; the message is meant for the operator."""
