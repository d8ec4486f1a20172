"""What the pages of every registry app share: a request the registry will not serve gets a short page with its
status and one line saying why, never a traceback."""

from __future__ import annotations

import functools

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from iotmark.registry.services import RegistryError


def refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    """The refusal page: `message` under a heading, answered with `status`."""
    return render(request, "refused.html", {"message": message}, status=status)


def refusals(view):
    """Decorate a view so a RegistryError it raises becomes the refusal page with the error's status."""
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except RegistryError as exc:
            return refused(request, str(exc), exc.status)
    return wrapped
