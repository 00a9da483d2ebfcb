import unittest

from h_to_min import h_to_min


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(h_to_min(2), 120)


if __name__ == "__main__":
    unittest.main()
