import unittest

from transform import transform


class Transform(unittest.TestCase):
    def test_doubled(self):
        self.assertEqual(transform("a=1;b=2"), {"a": 2, "b": 4})


if __name__ == "__main__":
    unittest.main()
