"""Throughput caps per sender: a number's and a campaign's messages released at their cap."""
