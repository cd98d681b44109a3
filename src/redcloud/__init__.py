"""Red Cloud: a self-hostable SMS/MMS platform implementing the Red Cloud CORE API."""

__version__ = "0.1.0"
API_VERSION = "0.2.0"
