import unittest

from kg_to_g import kg_to_g


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(kg_to_g(2), 2000)


if __name__ == "__main__":
    unittest.main()
