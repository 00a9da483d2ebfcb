import unittest
from op_add import op_add
from op_sub import op_sub
from op_mul import op_mul
from op_max import op_max
from op_min import op_min
from op_neg import op_neg


class Hidden(unittest.TestCase):
    def test_all(self):
        self.assertEqual(op_add(-1, 1), 0)
        self.assertEqual(op_sub(0, 4), -4)
        self.assertEqual(op_mul(0, 9), 0)
        self.assertEqual(op_max(-3, -8), -3)
        self.assertEqual(op_min(-3, -8), -8)
        self.assertEqual(op_neg(-2), 2)
