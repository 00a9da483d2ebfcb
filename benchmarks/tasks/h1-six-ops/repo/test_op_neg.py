import unittest

from op_neg import op_neg


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(op_neg(3), -3)


if __name__ == "__main__":
    unittest.main()
