"""/docs in headless Chromium with every request off the loopback refused (as on a machine without
internet): Swagger UI renders the API from files the service itself serves."""

import os

from ml import settings
from ml.recommenders import PopularityRecommender
from ml.serving.publish import publish
from tests.conftest import running_service, tiny_data
from tests.test_webapp import chromium


def test_the_api_docs_render_offline(tmp_path):
    from playwright.sync_api import sync_playwright

    data = tiny_data()
    publish(tmp_path / "data" / "models", "popularity", "v1", PopularityRecommender().fit(data.train), data)
    env = {**os.environ, "RECSYS_DATA_DIR": str(tmp_path / "data"), "RECSYS_DUCKDB_PATH": str(tmp_path / "none.duckdb")}
    refused, shot = [], settings.ROOT / "data" / "screenshots" / "api-docs.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with running_service(env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        def offline(route) -> None:
            if route.request.url.startswith(url):
                route.continue_()
            else:
                refused.append(route.request.url)
                route.abort("internetdisconnected")

        page.route("**/*", offline)
        page.goto(f"{url}/docs")
        page.locator(".swagger-ui .info .title", has_text="recsys-platform").wait_for(timeout=30_000)
        page.locator(".opblock-summary-path", has_text="/users/{user_id}/recommendations").first.wait_for(timeout=10_000)
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert refused == [], refused  # nothing asked of a CDN
    assert shot.stat().st_size > 20_000
