import unittest

import api


class Api(unittest.TestCase):
    def test_sum(self):
        self.assertEqual(api.api_sum([1, 2, 3]), 6)


if __name__ == "__main__":
    unittest.main()
