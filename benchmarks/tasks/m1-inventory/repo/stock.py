"""Stock levels."""


def remove(level, n):
    """Remove n items; stock never goes below zero."""
    return level - n
