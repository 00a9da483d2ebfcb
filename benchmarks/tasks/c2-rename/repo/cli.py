"""Command line over the API."""

import api

FORMAT = "{}"


def main(args):
    return FORMAT.format(api.api_sum([int(a) for a in args]))
