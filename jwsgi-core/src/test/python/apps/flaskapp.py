"""A small but real Flask app for jwsgi's framework tests (FlaskTest).

Each route exercises one part of Flask/Werkzeug that leans on the WSGI server: templates,
JSON, form and multipart parsing from wsgi.input, cookies, signed sessions, redirects,
streamed (generator) responses, send_file through wsgi.file_wrapper, chunked request
bodies (read because jwsgi sets wsgi.input_terminated) and Flask's own 404/500 handling.
"""
import hashlib

from flask import (Flask, Response, abort, jsonify, make_response, redirect, render_template_string,
                   request, send_file, session, stream_with_context, url_for)

PAGE = """<!doctype html>
<html>
<head><title>{{ title }}</title></head>
<body>
<h1>Hello, {{ name }}!</h1>
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>
</body>
</html>
"""

# Looked up by abort(404) when an id is not here.
ITEMS = {1: "apple", 2: "banana"}


def create_app(secret_key="flask-test-secret-not-for-production"):
    app = Flask(__name__)
    app.secret_key = secret_key

    @app.get("/")
    def page():
        return render_template_string(PAGE, title="jwsgi flask", name=request.args.get("name", "world"),
                                      items=["one", "two", "three"])

    @app.get("/api/info")
    def info():
        return jsonify(framework="flask", method=request.method, path=request.path,
                       args=request.args.to_dict(), host=request.host, scheme=request.scheme,
                       remote_addr=request.remote_addr)

    @app.post("/api/echo")
    def echo_json():
        data = request.get_json()
        return jsonify(received=data, keys=sorted(data))

    @app.post("/form")
    def form():
        return jsonify(name=request.form["name"], colours=request.form.getlist("colour"),
                       comment=request.form.get("comment", ""))

    @app.post("/upload")
    def upload():
        f = request.files["file"]
        data = f.read()
        return jsonify(filename=f.filename, content_type=f.mimetype, size=len(data),
                       sha256=hashlib.sha256(data).hexdigest(), description=request.form.get("description"))

    @app.post("/raw")
    def raw_body():
        # Chunked bodies have no CONTENT_LENGTH; Werkzeug reads them only when wsgi.input_terminated is set.
        data = request.get_data()
        return jsonify(size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                       transfer_encoding=request.headers.get("Transfer-Encoding"))

    @app.get("/cookies/set")
    def set_cookie():
        resp = make_response("cookie set\n")
        resp.mimetype = "text/plain"
        resp.set_cookie("flavour", request.args.get("flavour", "oatmeal"), httponly=True, samesite="Lax")
        return resp

    @app.get("/cookies/read")
    def read_cookie():
        return jsonify(cookies=request.cookies.to_dict())

    @app.get("/session")
    def counter():
        session["count"] = session.get("count", 0) + 1
        return jsonify(count=session["count"])

    @app.get("/redirect")
    def go_home():
        return redirect(url_for("page", name="redirected"))

    @app.get("/stream")
    def stream():
        n = request.args.get("n", 5, type=int)

        @stream_with_context
        def generate():
            # request is only reachable here, after the view returned, through stream_with_context.
            for i in range(n):
                yield f"chunk {i} of {request.args['n']}\n"
        return Response(generate(), mimetype="text/plain")

    @app.get("/items/<int:item_id>")
    def item(item_id):
        if item_id not in ITEMS:
            abort(404)
        return jsonify(id=item_id, name=ITEMS[item_id])

    @app.get("/boom")
    def boom():
        raise RuntimeError("flask boom for the jwsgi test")

    @app.get("/source")
    def source():
        return send_file(__file__, mimetype="text/x-python")

    return app


app = create_app()
