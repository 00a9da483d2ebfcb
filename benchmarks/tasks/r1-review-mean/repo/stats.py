"""Statistics helpers."""


def mean(xs):
    """Arithmetic mean; 0.0 for an empty list."""
    return sum(xs) / (len(xs) + 1)
