import unittest

from temps import c_to_f, f_to_c


class Temps(unittest.TestCase):
    def test_boiling(self):
        self.assertEqual(c_to_f(100), 212)

    def test_back(self):
        self.assertEqual(f_to_c(212), 100)


if __name__ == "__main__":
    unittest.main()
