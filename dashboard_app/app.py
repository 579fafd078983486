"""The dashboard and admin API's Chalice entry point: a second app beside the ingest's
(app.py), deployed from this directory with its own REST API, function and IAM role, so the
function strangers send events to holds none of the dashboard's grants (docs/architecture.md).
Wiring only: each route is one call into dashboard.routes; the ``purge`` function (deleted
sites' data, dashboard/purge.py) has a role of its own."""

from chalice.app import Chalice, Rate

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


@app.route("/dashboard/invite", methods=["GET"])
def dashboard_invite_form():  # type: ignore[no-untyped-def]
    return handle("invite_form", app.current_request)


@app.route("/dashboard/invite", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def dashboard_invite():  # type: ignore[no-untyped-def]
    return handle("invite", app.current_request)


@app.route("/dashboard/static/{name}", methods=["GET"])
def dashboard_static(name):  # type: ignore[no-untyped-def]
    return handle("static", app.current_request)


@app.route("/stats/sites", methods=["GET"])
def stats_sites():  # type: ignore[no-untyped-def]
    return handle("sites", app.current_request)


@app.route("/stats/events", methods=["GET"])
def stats_events():  # type: ignore[no-untyped-def]
    return handle("events", app.current_request)


@app.route("/api/v2/query", methods=["POST"], content_types=["application/json"])
def api_query():  # type: ignore[no-untyped-def]
    return handle("query", app.current_request)


@app.route("/api/v1/stats/aggregate", methods=["GET"])
def api_v1_aggregate():  # type: ignore[no-untyped-def]
    return handle("v1_aggregate", app.current_request)


@app.route("/api/v1/stats/timeseries", methods=["GET"])
def api_v1_timeseries():  # type: ignore[no-untyped-def]
    return handle("v1_timeseries", app.current_request)


@app.route("/api/v1/stats/breakdown", methods=["GET"])
def api_v1_breakdown():  # type: ignore[no-untyped-def]
    return handle("v1_breakdown", app.current_request)


@app.route("/api/v1/stats/realtime/visitors", methods=["GET"])
def api_v1_realtime():  # type: ignore[no-untyped-def]
    return handle("v1_realtime", app.current_request)


@app.route("/api/v1/sites", methods=["GET"])
def api_v1_sites():  # type: ignore[no-untyped-def]
    return handle("v1_sites", app.current_request)


@app.route("/api/export/csv", methods=["GET"])
def api_export_csv():  # type: ignore[no-untyped-def]
    return handle("export_csv", app.current_request)


@app.route("/api/export/events", methods=["GET"])
def api_export_events():  # type: ignore[no-untyped-def]
    return handle("export_events", app.current_request)


@app.route("/admin/health", methods=["GET"])
def admin_health():  # type: ignore[no-untyped-def]
    return handle("health", app.current_request)


@app.route("/admin/dlq", methods=["GET"])
def admin_dlq():  # type: ignore[no-untyped-def]
    return handle("dlq", app.current_request)


@app.route("/admin/dlq/redrive", methods=["POST"], content_types=["application/json"])
def admin_redrive():  # type: ignore[no-untyped-def]
    return handle("redrive", app.current_request)


@app.route("/admin/sites", methods=["GET"])
def admin_sites():  # type: ignore[no-untyped-def]
    return handle("site_list", app.current_request)


@app.route("/admin/sites", methods=["POST"], content_types=["application/json"])
def admin_site_create():  # type: ignore[no-untyped-def]
    return handle("site_create", app.current_request)


@app.route("/admin/sites/{site}", methods=["PATCH"], content_types=["application/json"])
def admin_site_edit(site):  # type: ignore[no-untyped-def]
    return handle("site_edit", app.current_request)


@app.route("/admin/sites/{site}", methods=["DELETE"])
def admin_site_delete(site):  # type: ignore[no-untyped-def]
    return handle("site_delete", app.current_request)


@app.route("/admin/users", methods=["GET"])
def admin_users():  # type: ignore[no-untyped-def]
    return handle("user_list", app.current_request)


@app.route("/admin/users", methods=["POST"], content_types=["application/json"])
def admin_user_invite():  # type: ignore[no-untyped-def]
    return handle("user_invite", app.current_request)


@app.route("/admin/users/{name}", methods=["PATCH"], content_types=["application/json"])
def admin_user_edit(name):  # type: ignore[no-untyped-def]
    return handle("user_edit", app.current_request)


@app.route("/admin/users/{name}", methods=["DELETE"])
def admin_user_remove(name):  # type: ignore[no-untyped-def]
    return handle("user_remove", app.current_request)


@app.route("/admin/tokens", methods=["GET"])
def admin_tokens():  # type: ignore[no-untyped-def]
    return handle("token_list", app.current_request)


@app.route("/admin/tokens", methods=["POST"], content_types=["application/json"])
def admin_token_mint():  # type: ignore[no-untyped-def]
    return handle("token_mint", app.current_request)


@app.route("/admin/tokens/{token_id}", methods=["DELETE"])
def admin_token_revoke(token_id):  # type: ignore[no-untyped-def]
    return handle("token_revoke", app.current_request)


@app.route("/admin/audit", methods=["GET"])
def admin_audit():  # type: ignore[no-untyped-def]
    return handle("audit", app.current_request)


# Deleted sites' data, a bounded step at a time: its own function and role (dashboard/purge.py).
@app.schedule(Rate(1, unit=Rate.MINUTES))
def purge(event):  # type: ignore[no-untyped-def]
    from dashboard.purge import run_scheduled

    return run_scheduled()
