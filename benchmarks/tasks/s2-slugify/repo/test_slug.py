import unittest

from slug import slugify


class Slug(unittest.TestCase):
    def test_lower(self):
        self.assertEqual(slugify("Hello World"), "hello-world")


if __name__ == "__main__":
    unittest.main()
