"""The Flask app mounted at /py/* of the Spring Boot app (jwsgi's servlet)."""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/whoami")
def whoami():
    environ = request.environ
    return jsonify(script_name=environ.get("SCRIPT_NAME"), path_info=environ.get("PATH_INFO"),
                   remote_user=environ.get("REMOTE_USER"))
