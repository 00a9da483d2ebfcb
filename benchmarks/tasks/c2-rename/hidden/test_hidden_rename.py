import unittest

import api
import cli
import core


class Hidden(unittest.TestCase):
    def test_renamed(self):
        self.assertFalse(hasattr(core, "total"))
        self.assertEqual(core.sum_all([]), 0)
        self.assertEqual(api.api_sum([7]), 7)
        self.assertEqual(cli.main([]), "sum=0")
