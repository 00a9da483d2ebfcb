"""km_to_m."""


def km_to_m(km):
    return km * 100
