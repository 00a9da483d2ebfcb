"""Cubes."""


def volume(side):
    return side * side
