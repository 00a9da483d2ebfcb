import unittest

from op_mul import op_mul


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(op_mul(4, 3), 12)


if __name__ == "__main__":
    unittest.main()
