"""The client's version and the User-Agent it sends."""

VERSION = "0.1.0"
USER_AGENT = f"redcloud-client-python/{VERSION}"
