from django.urls import path

from . import views

urlpatterns = [
    path("", views.page, name="page"),
    path("api/info", views.info),
    path("api/echo", views.echo_json),
    path("form", views.form),
    path("csrf", views.csrf_form, name="csrf"),
    path("upload", views.upload),
    path("cookies/set", views.set_cookie),
    path("cookies/read", views.read_cookie),
    path("session", views.counter),
    path("redirect", views.go_home),
    path("stream", views.stream),
    path("items/<int:item_id>", views.item),
    path("boom", views.boom),
    path("source", views.source),
]
