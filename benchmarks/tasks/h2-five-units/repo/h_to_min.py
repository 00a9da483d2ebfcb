"""h_to_min."""


def h_to_min(h):
    return h * 24
