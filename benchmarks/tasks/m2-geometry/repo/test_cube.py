import unittest

from cube import volume


class Cube(unittest.TestCase):
    def test_volume(self):
        self.assertEqual(volume(3), 27)


if __name__ == "__main__":
    unittest.main()
