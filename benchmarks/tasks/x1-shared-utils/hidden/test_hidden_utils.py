import unittest

from utils import chunks, clamp


class Hidden(unittest.TestCase):
    def test_clamp(self):
        self.assertEqual(clamp(-5, 0, 10), 0)
        self.assertEqual(clamp(5, 0, 10), 5)
        self.assertEqual(clamp(11, 0, 10), 10)

    def test_chunks(self):
        self.assertEqual(chunks([], 3), [])
        self.assertEqual(chunks([1, 2, 3], 3), [[1, 2, 3]])
