"""kg_to_g."""


def kg_to_g(kg):
    return kg * 100
