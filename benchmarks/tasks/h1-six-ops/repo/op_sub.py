"""sub."""


def op_sub(a, b):
    return a + b
