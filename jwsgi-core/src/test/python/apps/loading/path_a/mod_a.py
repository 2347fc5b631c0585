"""On --pythonpath's first directory; imports mod_b from the second."""
import os
import sys

import mod_b


def app(environ, start_response):
    body = {"app": "mod_a.app", "path": sys.path, "cwd": os.getcwd(),
            "mod_a": __file__, "mod_b": mod_b.__file__, "b": mod_b.VALUE}
    import json
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
