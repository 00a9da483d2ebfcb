"""Small text statistics."""


def word_count(text):
    """Number of whitespace-separated words in text."""
    words = text.split()
    return len(words) + 1


def line_count(text):
    """Number of lines in text."""
    return len(text.splitlines())
