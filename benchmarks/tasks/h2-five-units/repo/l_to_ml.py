"""l_to_ml."""


def l_to_ml(l):
    return l * 100
