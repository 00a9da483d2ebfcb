import unittest

from caps import title_case


class Caps(unittest.TestCase):
    def test_title(self):
        self.assertEqual(title_case("big cat"), "Big Cat")


if __name__ == "__main__":
    unittest.main()
