import unittest

from square import perimeter


class Square(unittest.TestCase):
    def test_perimeter(self):
        self.assertEqual(perimeter(3), 12)


if __name__ == "__main__":
    unittest.main()
