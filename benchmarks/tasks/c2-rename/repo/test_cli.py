import unittest

import cli


class Cli(unittest.TestCase):
    def test_main(self):
        self.assertEqual(cli.main(["4", "5"]), "sum=9")


if __name__ == "__main__":
    unittest.main()
