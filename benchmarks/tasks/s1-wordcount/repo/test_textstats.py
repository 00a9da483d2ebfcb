import unittest

from textstats import line_count, word_count


class TextStats(unittest.TestCase):
    def test_words(self):
        self.assertEqual(word_count("a b c"), 3)

    def test_lines(self):
        self.assertEqual(line_count("a\nb"), 2)


if __name__ == "__main__":
    unittest.main()
