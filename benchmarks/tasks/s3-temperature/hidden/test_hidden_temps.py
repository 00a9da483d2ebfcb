import unittest

from temps import c_to_f, f_to_c


class Hidden(unittest.TestCase):
    def test_freezing(self):
        self.assertEqual(c_to_f(0), 32)

    def test_minus_forty(self):
        self.assertEqual(c_to_f(-40), -40)
        self.assertEqual(f_to_c(-40), -40)
