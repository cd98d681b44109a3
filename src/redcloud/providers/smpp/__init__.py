"""SMPP 3.4: the PDU codec (pdu.py); the session and the connector adapter build on it."""
