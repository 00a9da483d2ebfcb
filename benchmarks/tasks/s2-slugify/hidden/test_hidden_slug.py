import unittest

from slug import slugify


class Hidden(unittest.TestCase):
    def test_caps(self):
        self.assertEqual(slugify("  ABC  Def "), "abc-def")

    def test_single(self):
        self.assertEqual(slugify("X"), "x")
