import unittest

from op_sub import op_sub


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(op_sub(5, 3), 2)


if __name__ == "__main__":
    unittest.main()
