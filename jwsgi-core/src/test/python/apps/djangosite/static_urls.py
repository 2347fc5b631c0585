"""The test project's routes plus Django's admin (its login page links the admin's CSS)."""
from django.contrib import admin
from django.urls import path

from . import urls

urlpatterns = [path("admin/", admin.site.urls)] + urls.urlpatterns
