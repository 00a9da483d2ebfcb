import unittest

from op_add import op_add


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(op_add(2, 3), 5)


if __name__ == "__main__":
    unittest.main()
