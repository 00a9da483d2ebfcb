import unittest
from km_to_m import km_to_m
from m_to_cm import m_to_cm
from kg_to_g import kg_to_g
from h_to_min import h_to_min
from l_to_ml import l_to_ml


class Hidden(unittest.TestCase):
    def test_all(self):
        self.assertAlmostEqual(km_to_m(0.5), 500)
        self.assertAlmostEqual(m_to_cm(0.01), 1)
        self.assertAlmostEqual(kg_to_g(1), 1000)
        self.assertAlmostEqual(h_to_min(0.5), 30)
        self.assertAlmostEqual(l_to_ml(1), 1000)
