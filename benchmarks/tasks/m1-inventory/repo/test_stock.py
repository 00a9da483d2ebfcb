import unittest

from stock import remove


class Stock(unittest.TestCase):
    def test_floor(self):
        self.assertEqual(remove(3, 5), 0)


if __name__ == "__main__":
    unittest.main()
