"""The grounds API offers a regulator exactly the grounds the registry's records support for a product."""

from __future__ import annotations

from iotmark.registry.enforcement.grounds import failed_provisions


def test_regulator_gets_each_failed_provision_of_the_certificate_as_a_ground(client, regulator, product, certificate):
    response = client.get(f"/api/v1/cases/grounds?product={product.pk}", **regulator.headers)
    assert response.status_code == 200, response.content
    failed = failed_provisions(certificate)
    assert response.json() == [
        {"kind": "failed_provision", "provision": provision, "certificate": certificate.cert_id, "firmware": "",
         "report": "", "label": f"Provision {provision} failed in certificate {certificate.cert_id} "
                                f"(firmware {certificate.firmware.version})"}
        for provision in failed]


def test_grounds_need_a_product_and_a_regulator(client, regulator, vendor, product):
    missing = client.get("/api/v1/cases/grounds", **regulator.headers)
    assert missing.status_code == 400
    assert missing.json()["detail"] == "name the product: /api/v1/cases/grounds?product=ID"
    assert client.get(f"/api/v1/cases/grounds?product={product.pk}", **vendor.headers).status_code == 403


def test_the_openapi_schema_describes_the_ground_choices(client):
    schema = client.get("/api/openapi.json").json()
    answer = schema["paths"]["/api/v1/cases/grounds"]["get"]["responses"]["200"]["content"]["application/json"]
    item = answer["schema"]["items"]["$ref"].rsplit("/", 1)[-1]
    fields = schema["components"]["schemas"][item]
    assert set(fields["properties"]) == {"kind", "label", "provision", "certificate", "firmware", "report"}
    assert fields["required"] == ["kind", "label"]
