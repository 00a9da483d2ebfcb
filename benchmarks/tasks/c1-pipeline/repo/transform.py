"""Step 2: numeric values of a parsed record, doubled."""

from parse import parse


def transform(line):
    return {k: int(v) for k, v in parse(line).items()}
