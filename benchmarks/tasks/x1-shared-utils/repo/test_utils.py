import unittest

from utils import chunks, clamp


class Utils(unittest.TestCase):
    def test_clamp(self):
        self.assertEqual(clamp(15, 0, 10), 10)

    def test_chunks(self):
        self.assertEqual(chunks([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]])


if __name__ == "__main__":
    unittest.main()
