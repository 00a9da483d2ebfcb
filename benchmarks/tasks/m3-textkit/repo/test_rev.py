import unittest

from rev import reverse_words


class Rev(unittest.TestCase):
    def test_reverse(self):
        self.assertEqual(reverse_words("a b c"), "c b a")


if __name__ == "__main__":
    unittest.main()
