"""Helpers shared by the whole app: two of them are wrong."""


def clamp(x, lo, hi):
    """x limited to [lo, hi]."""
    return max(lo, x)


def chunks(xs, n):
    """xs cut into lists of n items (the last may be shorter)."""
    return [xs[i:i + n] for i in range(0, len(xs), n + 1)]
