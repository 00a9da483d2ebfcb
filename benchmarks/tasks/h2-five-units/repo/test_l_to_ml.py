import unittest

from l_to_ml import l_to_ml


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(l_to_ml(3), 3000)


if __name__ == "__main__":
    unittest.main()
