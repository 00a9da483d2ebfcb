import unittest

from pricing import discounted


class Pricing(unittest.TestCase):
    def test_ten_percent(self):
        self.assertEqual(discounted(200, 10), 180)


if __name__ == "__main__":
    unittest.main()
