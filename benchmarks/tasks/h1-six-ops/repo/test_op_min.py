import unittest

from op_min import op_min


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(op_min(2, 7), 2)


if __name__ == "__main__":
    unittest.main()
