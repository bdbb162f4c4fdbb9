"""The one exception type for user mistakes: stages print its message and exit non-zero."""


class NRDHError(Exception):
    """A user-facing error: bad params, bad input file, mismatched artifacts.

    The message must name the file, key, line or value at fault and what was expected.
    """
