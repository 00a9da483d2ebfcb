import math
import unittest

from circle import area


class Circle(unittest.TestCase):
    def test_area(self):
        self.assertAlmostEqual(area(2), 4 * math.pi)


if __name__ == "__main__":
    unittest.main()
