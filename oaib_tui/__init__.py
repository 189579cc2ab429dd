"""oaib-tui: run large jobs of OpenAI-style API requests, realtime or through the Batch API."""

__version__ = "0.1.0"
