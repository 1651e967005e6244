"""The one error type of input data the project cannot use (as opposed to a defect in the code)."""


class DataError(ValueError):
    """Input data that cannot be used: a listing, a listing field, a build or a house. The message names what and
    why; the scripts print it in one line with exit status 2 instead of a traceback."""


__all__ = ["DataError"]
