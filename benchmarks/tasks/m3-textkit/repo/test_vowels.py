import unittest

from vowels import count_vowels


class Vowels(unittest.TestCase):
    def test_u(self):
        self.assertEqual(count_vowels("tune"), 2)


if __name__ == "__main__":
    unittest.main()
