"""The HTTP status behind an exception from any of the clients remote reads go through."""


def http_status(exc):
    """The HTTP status behind ``exc`` (aiohttp, botocore), following its causes."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        status = getattr(exc, "status", None)
        if isinstance(status, int):
            return status
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code:
                return int(code)
        exc = exc.__cause__ or exc.__context__
    return None
