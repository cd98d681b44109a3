"""Consent: opt-out, opt-in and help keywords, suppression of opted-out recipients, and
the automatic replies that confirm them."""
