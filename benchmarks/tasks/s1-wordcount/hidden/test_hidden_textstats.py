import unittest

from textstats import line_count, word_count


class Hidden(unittest.TestCase):
    def test_empty(self):
        self.assertEqual(word_count(""), 0)

    def test_spaces(self):
        self.assertEqual(word_count("  one   two  "), 2)

    def test_lines_untouched(self):
        self.assertEqual(line_count("x\ny\nz"), 3)
