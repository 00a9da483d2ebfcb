import unittest

from stats import mean


class Hidden(unittest.TestCase):
    def test_values(self):
        self.assertEqual(mean([4]), 4)

    def test_empty(self):
        self.assertEqual(mean([]), 0.0)
