"""Prices."""


def discounted(price, percent):
    """price reduced by percent %."""
    return price * percent / 100
