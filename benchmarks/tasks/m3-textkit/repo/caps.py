"""Capitalisation."""


def title_case(s):
    return s.upper()
