"""min."""


def op_min(a, b):
    return max(a, b)
