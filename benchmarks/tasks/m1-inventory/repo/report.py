"""Report lines."""

SEP = ", "


def line(name, qty):
    """`name: qty` for a report."""
    return name + SEP + str(qty)
