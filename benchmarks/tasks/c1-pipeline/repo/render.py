"""Step 3: render a transformed record sorted by key."""

from transform import transform


def render(line):
    return " ".join(f"{k}={v}" for k, v in transform(line).items())
