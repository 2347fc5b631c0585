"""Views of the test project. Each one exercises a part of Django that leans on the WSGI server:
templates, JSON, form and multipart parsing from wsgi.input (large files go through Django's
temporary-file upload handler), cookies, signed-cookie sessions, CSRF, redirects, streamed
responses, FileResponse through wsgi.file_wrapper and Django's own 404/500 handling."""
import hashlib
import json

from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

ITEMS = {1: "apple", 2: "banana"}


@require_GET
def page(request):
    return render(request, "page.html", {"title": "jwsgi django", "name": request.GET.get("name", "world"),
                                         "items": ["one", "two", "three"]})


@require_GET
def info(request):
    return JsonResponse({"framework": "django", "method": request.method, "path": request.path,
                         "args": request.GET.dict(), "host": request.get_host(), "scheme": request.scheme,
                         "remote_addr": request.META.get("REMOTE_ADDR")})


@csrf_exempt
@require_POST
def echo_json(request):
    data = json.loads(request.body)
    return JsonResponse({"received": data, "keys": sorted(data)})


@csrf_exempt
@require_POST
def form(request):
    return JsonResponse({"name": request.POST["name"], "colours": request.POST.getlist("colour"),
                         "comment": request.POST.get("comment", "")})


def csrf_form(request):
    # CsrfViewMiddleware checks the POST before this view runs; rendering {% csrf_token %} sets the cookie.
    message = request.POST.get("message", "") if request.method == "POST" else ""
    return render(request, "csrf.html", {"message": message})


@csrf_exempt
@require_POST
def upload(request):
    f = request.FILES["file"]
    h = hashlib.sha256()
    size = 0
    for chunk in f.chunks():
        h.update(chunk)
        size += len(chunk)
    return JsonResponse({"filename": f.name, "content_type": f.content_type, "size": size,
                         "sha256": h.hexdigest(), "description": request.POST.get("description"),
                         "handler": type(f).__name__})


def set_cookie(request):
    resp = HttpResponse("cookie set\n", content_type="text/plain")
    resp.set_cookie("flavour", request.GET.get("flavour", "ginger"), httponly=True, samesite="Lax")
    return resp


def read_cookie(request):
    return JsonResponse({"cookies": request.COOKIES})


def counter(request):
    request.session["count"] = request.session.get("count", 0) + 1
    return JsonResponse({"count": request.session["count"]})


def go_home(request):
    return redirect("/?name=redirected")


def stream(request):
    n = int(request.GET.get("n", "5"))
    return StreamingHttpResponse((f"chunk {i} of {n}\n" for i in range(n)), content_type="text/plain")


def item(request, item_id):
    if item_id not in ITEMS:
        raise Http404("no such item")
    return JsonResponse({"id": item_id, "name": ITEMS[item_id]})


def boom(request):
    raise RuntimeError("django boom for the jwsgi test")


def source(request):
    return FileResponse(open(__file__, "rb"), content_type="text/x-python")
