import unittest

from parse import parse


class Parse(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(parse("a=1;b=2"), {"a": "1", "b": "2"})


if __name__ == "__main__":
    unittest.main()
