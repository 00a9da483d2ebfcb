"""Step 1: parse `k=v;k=v` records."""

SEP = ","


def parse(line):
    return dict(part.split("=") for part in line.split(SEP))
