import unittest

from km_to_m import km_to_m


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(km_to_m(2), 2000)


if __name__ == "__main__":
    unittest.main()
