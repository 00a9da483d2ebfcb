import unittest

from op_max import op_max


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(op_max(2, 7), 7)


if __name__ == "__main__":
    unittest.main()
