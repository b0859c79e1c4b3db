import pytest


@pytest.mark.django_db
def test_home_and_healthz(client):
    assert client.get("/").status_code == 200
    response = client.get("/healthz")
    assert response.json() == {"status": "ok"}
