"""A small Flask app: a JSON endpoint and a Jinja template (a fortunes table, no database)."""
from flask import Flask, jsonify, render_template

from fortunes import FORTUNES

app = Flask(__name__)


@app.route("/json")
def json_view():
    return jsonify(message="Hello, World!", framework="flask", items=list(range(10)))


@app.route("/template")
def template_view():
    return render_template("fortunes.html", fortunes=FORTUNES, framework="Flask")
