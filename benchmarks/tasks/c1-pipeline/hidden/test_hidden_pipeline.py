import unittest

from render import render


class Hidden(unittest.TestCase):
    def test_end_to_end(self):
        self.assertEqual(render("z=5;m=0;a=3"), "a=6 m=0 z=10")
