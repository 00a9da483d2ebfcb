import unittest

from m_to_cm import m_to_cm


class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(m_to_cm(3), 300)


if __name__ == "__main__":
    unittest.main()
