"""The bare baseline of ``alarm_ingest.py``: a WSGI app that answers every request with a static
201 and the JSON the load clients read, served by the same gunicorn, over the same connections."""

BODY = b'{"status": "created", "outcome": "logged"}'


def app(environ, start_response):
    """Read the request body (as the real endpoint does) and answer 201."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
