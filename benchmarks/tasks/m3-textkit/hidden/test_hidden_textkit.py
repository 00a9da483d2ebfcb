import unittest

from caps import title_case
from rev import reverse_words
from vowels import count_vowels


class Hidden(unittest.TestCase):
    def test_all(self):
        self.assertEqual(title_case("x"), "X")
        self.assertEqual(count_vowels("queue"), 4)
        self.assertEqual(reverse_words("one two"), "two one")
