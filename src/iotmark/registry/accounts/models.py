"""Failed log-ins, kept only as long as they can count towards a lock-out."""

from django.db import models


class FailedLogin(models.Model):
    """One refused log-in: the user name as typed (case-folded; it need not exist) and the client's address."""

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=45, help_text="the client's IP address")
    attempted = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["username", "attempted"], name="failed_login_by_username"),
                   models.Index(fields=["address", "attempted"], name="failed_login_by_address"),
                   models.Index(fields=["attempted"], name="failed_login_by_time")]

    def __str__(self) -> str:
        return f"{self.username} from {self.address} at {self.attempted:%Y-%m-%d %H:%M:%S}"
