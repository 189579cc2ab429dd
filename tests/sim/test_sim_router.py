"""The route table: fixed paths, `{name}` parameters, and routes added by other features."""

from __future__ import annotations

from oaib_tui.sim.client import simulator_http_client
from oaib_tui.sim.http import Request, Response, json_response
from oaib_tui.sim.router import Router


async def ok(request: Request) -> Response:
    return json_response(200, {"params": request.params})


def test_fixed_and_templated_routes() -> None:
    router = Router()
    router.add("GET", "/v1/files", ok)
    router.add("GET", "/v1/files/{file_id}/content", ok)
    assert router.match("GET", "/v1/files") == (ok, {})
    assert router.match("GET", "/v1/files/") == (ok, {})
    assert router.match("GET", "/v1/files/file-abc/content") == (ok, {"file_id": "file-abc"})
    assert router.match("POST", "/v1/files") is None
    assert router.match("GET", "/v1/files/a/b/content") is None
    assert router.match("GET", "/v1/filesx") is None


async def test_a_feature_can_add_its_routes_to_the_app(make_app) -> None:
    app = make_app()

    async def retrieve_batch(request: Request) -> Response:
        return json_response(200, {"id": request.params["batch_id"], "object": "batch"})

    app.router.add("GET", "/v1/batches/{batch_id}", retrieve_batch)
    async with simulator_http_client(app) as http:
        response = await http.get("/batches/batch_123")
    assert response.status_code == 200 and response.json() == {"id": "batch_123", "object": "batch"}
    assert response.headers["x-request-id"].startswith("req_")
