import unittest

from rect import area


class Rect(unittest.TestCase):
    def test_area(self):
        self.assertEqual(area(3, 4), 12)


if __name__ == "__main__":
    unittest.main()
