"""The log-in page with throttling: a locked user name or address gets 429 and the form again, whatever the
password; the same words whether or not the user name exists."""

from __future__ import annotations

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from iotmark.registry.accounts import throttle


class ThrottledLoginView(LoginView):
    template_name = "login.html"
    next_page = "/"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        lock = throttle.lockout_for(self._username(), throttle.client_address(request))
        if lock is not None:
            return self._locked(lock)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        throttle.record_success(self._username())
        return super().form_valid(form)

    def form_invalid(self, form) -> HttpResponse:
        lock = throttle.record_failure(self._username(), throttle.client_address(self.request))
        if lock is not None:
            return self._locked(lock)
        return super().form_invalid(form)

    def _username(self) -> str:
        return str(self.request.POST.get("username", ""))

    def _locked(self, lock: throttle.Lockout) -> HttpResponse:
        minutes = lock.minutes_left(timezone.now())
        form = self.get_form_class()(self.request, initial={"username": self._username()[:150]})
        context = self.get_context_data(form=form, locked_minutes=minutes)
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(max(1, int((lock.until - timezone.now()).total_seconds())))
        return response


login = ThrottledLoginView.as_view()
