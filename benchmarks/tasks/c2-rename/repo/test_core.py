import unittest

import core


class Core(unittest.TestCase):
    def test_name(self):
        self.assertEqual(core.sum_all([1, 2]), 3)


if __name__ == "__main__":
    unittest.main()
