"""API layer over core."""

import core


def api_sum(xs):
    return core.total(xs)
