"""m_to_cm."""


def m_to_cm(m):
    return m * 10
