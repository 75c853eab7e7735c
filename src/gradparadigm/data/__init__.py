"""Data layer: fetching (download or local mirror), checksum verification, and parsers that turn
the SentEval/SimCSE files into tidy tables."""
