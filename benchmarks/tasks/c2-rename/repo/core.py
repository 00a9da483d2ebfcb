"""Core arithmetic. The public name of the sum helper must be `sum_all`."""


def total(xs):
    return sum(xs)
