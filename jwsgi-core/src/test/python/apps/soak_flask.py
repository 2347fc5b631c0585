"""The Flask app of scripts/soak.sh: a small JSON page, and what Python holds, for flat-memory checks."""
import gc
import os
import sys
import threading

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/")
def index():
    return jsonify(hello="world", path=request.path, agent=request.headers.get("User-Agent", ""))


@app.route("/stats")
def stats():
    gc.collect()
    return jsonify(pid=os.getpid(), objects=len(gc.get_objects()), blocks=sys.getallocatedblocks(), threads=threading.active_count())
