import unittest

from render import render


class Render(unittest.TestCase):
    def test_sorted(self):
        self.assertEqual(render("b=2;a=1"), "a=2 b=4")


if __name__ == "__main__":
    unittest.main()
