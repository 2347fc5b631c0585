"""The Flask app of docs/embedding.md's Jetty example (jwsgi-jetty/src/test/java/example/HelloJetty.java)."""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Flask, served by Jetty\n"


@app.post("/echo")
def echo():
    return jsonify(length=len(request.get_data()), script_name=request.environ["SCRIPT_NAME"])
