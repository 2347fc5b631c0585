from django.http import JsonResponse
from django.shortcuts import render

from fortunes import FORTUNES


def json_view(request):
    return JsonResponse({"message": "Hello, World!", "framework": "django", "items": list(range(10))})


def template_view(request):
    return render(request, "fortunes.html", {"fortunes": FORTUNES, "framework": "Django"})
