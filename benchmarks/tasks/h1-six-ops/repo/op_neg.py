"""neg."""


def op_neg(a):
    return a
