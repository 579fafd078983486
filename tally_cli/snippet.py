"""The copy-paste tag for a site (README, "Sending events")."""


def script_tag(api_url: str, write_key: str) -> str:
    return f'<script defer src="{api_url.rstrip("/")}/t.js" data-key="{write_key}"></script>'
