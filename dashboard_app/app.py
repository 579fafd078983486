"""The dashboard and admin API's Chalice entry point: a second app beside the ingest's
(app.py), deployed from this directory with its own REST API, function and IAM role, so the
function strangers send events to holds none of the dashboard's grants (docs/architecture.md).
Wiring only: each route is one call into dashboard.routes."""

from chalice.app import Chalice

from dashboard.routes import handle, http_defaults

app = Chalice(app_name="tally-dashboard")
# As the ingest app: bodies reach the handlers as bytes, and every answer is bytes too.
app.api.binary_types = ["*/*"]
app.register_middleware(http_defaults, "http")


@app.route("/dashboard", methods=["GET"])
def dashboard_page():  # type: ignore[no-untyped-def]
    return handle("page", app.current_request)


@app.route("/dashboard/login", methods=["GET"])
def dashboard_login_form():  # type: ignore[no-untyped-def]
    return handle("login_form", app.current_request)


@app.route("/dashboard/login", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def dashboard_login():  # type: ignore[no-untyped-def]
    return handle("login", app.current_request)


@app.route("/dashboard/logout", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def dashboard_logout():  # type: ignore[no-untyped-def]
    return handle("logout", app.current_request)


@app.route("/dashboard/static/{name}", methods=["GET"])
def dashboard_static(name):  # type: ignore[no-untyped-def]
    return handle("static", app.current_request)


@app.route("/stats/sites", methods=["GET"])
def stats_sites():  # type: ignore[no-untyped-def]
    return handle("sites", app.current_request)


@app.route("/stats/series", methods=["GET"])
def stats_series():  # type: ignore[no-untyped-def]
    return handle("series", app.current_request)


@app.route("/stats/top", methods=["GET"])
def stats_top():  # type: ignore[no-untyped-def]
    return handle("top", app.current_request)


@app.route("/stats/events", methods=["GET"])
def stats_events():  # type: ignore[no-untyped-def]
    return handle("events", app.current_request)


@app.route("/api/v2/query", methods=["POST"], content_types=["application/json"])
def api_query():  # type: ignore[no-untyped-def]
    return handle("query", app.current_request)


@app.route("/admin/health", methods=["GET"])
def admin_health():  # type: ignore[no-untyped-def]
    return handle("health", app.current_request)


@app.route("/admin/dlq", methods=["GET"])
def admin_dlq():  # type: ignore[no-untyped-def]
    return handle("dlq", app.current_request)


@app.route("/admin/dlq/redrive", methods=["POST"], content_types=["application/json"])
def admin_redrive():  # type: ignore[no-untyped-def]
    return handle("redrive", app.current_request)


@app.route("/admin/tokens", methods=["POST"], content_types=["application/json"])
def admin_tokens():  # type: ignore[no-untyped-def]
    return handle("tokens", app.current_request)
