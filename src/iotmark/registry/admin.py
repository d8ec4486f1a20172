from django.contrib import admin

from iotmark.registry import audit, models


class AuditedAdmin(admin.ModelAdmin):
    """Edits made in the admin site go into the audit log too, in the admin's own transaction."""

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        action = f"{obj._meta.model_name}.admin_{'change' if change else 'add'}"
        audit.record(request.user, action, obj, {"fields": sorted(form.changed_data)})

    def delete_model(self, request, obj) -> None:
        pk = str(obj.pk)
        super().delete_model(request, obj)
        audit.record(request.user, f"{obj._meta.model_name}.admin_delete", pk, {"repr": str(obj)[:200]},
                     object_type=obj._meta.model_name)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(models.Organisation)
class OrganisationAdmin(AuditedAdmin):
    list_display = ("name", "kind", "created")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(models.Member)
class MemberAdmin(AuditedAdmin):
    list_display = ("user", "role", "organisation")
    list_filter = ("role",)


@admin.register(models.ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ("prefix", "user", "name", "created", "last_used", "revoked")
    readonly_fields = ("prefix", "digest", "created", "last_used")


@admin.register(models.Product)
class ProductAdmin(AuditedAdmin):
    list_display = ("vendor", "model", "device_class")
    search_fields = ("model", "vendor__name")


@admin.register(models.FirmwareVersion)
class FirmwareVersionAdmin(AuditedAdmin):
    list_display = ("product", "version", "support_until")


@admin.register(models.IssuerKey)
class IssuerKeyAdmin(AuditedAdmin):
    list_display = ("key_id", "organisation", "trusted", "added")
    list_filter = ("trusted",)


@admin.register(models.Certificate)
class CertificateAdmin(AuditedAdmin):
    list_display = ("cert_id", "firmware", "level", "issued", "expires", "issuer")
    search_fields = ("cert_id", "firmware__product__model", "firmware__product__vendor__name")
    # The signed document must stay byte-for-byte what the lab signed.
    readonly_fields = ("document", "assessment", "assessment_digest", "uploaded_by", "uploaded")


@admin.register(models.Revocation)
class RevocationAdmin(AuditedAdmin):
    list_display = ("certificate", "date", "reason")


@admin.register(models.AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is written only by the registry's own services."""

    list_display = ("id", "created", "actor", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("actor", "object_id")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
