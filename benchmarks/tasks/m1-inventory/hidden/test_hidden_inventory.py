import unittest

from pricing import discounted
from report import line
from stock import remove


class Hidden(unittest.TestCase):
    def test_stock(self):
        self.assertEqual(remove(10, 4), 6)
        self.assertEqual(remove(0, 1), 0)

    def test_pricing(self):
        self.assertEqual(discounted(50, 0), 50)
        self.assertEqual(discounted(80, 25), 60)

    def test_report(self):
        self.assertEqual(line("ink", 0), "ink: 0")
