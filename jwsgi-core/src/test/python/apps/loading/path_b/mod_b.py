"""On --pythonpath's second directory."""
VALUE = "from path_b"
