import unittest

from report import line


class Report(unittest.TestCase):
    def test_line(self):
        self.assertEqual(line("pens", 4), "pens: 4")


if __name__ == "__main__":
    unittest.main()
