"""A remote file's size and ETag from the ranged GET of its first bytes, without a HEAD.

Every reader of a file starts with its first bytes (headers, a format's magic), so asking
for them first and taking the size from ``Content-Range`` saves the HEAD's round trip: at
20 ms per request, a tenth of a first stamp. Filesystems other than fsspec's HTTP one and
s3fs are asked for their ``info`` first, as before (:meth:`FsspecReader._stat`).
"""

import attrs

from .status import http_status


@attrs.frozen
class FirstBlock:
    """What the first ranged GET told: the bytes, the file's size, ETag and modification."""

    data: bytes
    size: int
    etag: str | None
    modified: str | None


class RangeIgnored(Exception):
    """The server answered a ranged GET with the whole file (no Range support)."""


def _total(content_range):
    """The complete length in ``bytes 0-99/1234``, or ``None`` (absent, or ``*``)."""
    if not content_range or "/" not in content_range:
        return None
    total = content_range.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


async def http_first_block(fs, url, length):
    """:class:`FirstBlock` of ``url`` through fsspec's ``HTTPFileSystem`` ``fs``, or ``None``
    when the answer does not say the size (then the caller asks with a HEAD)."""
    kwargs = dict(fs.kwargs)
    headers = dict(kwargs.pop("headers", None) or {})
    headers["Range"] = f"bytes=0-{length - 1}"
    session = await fs.set_session()
    async with session.get(fs.encode_url(url), headers=headers, **kwargs) as response:
        if response.status == 416:  # an empty file has no byte 0
            return None
        fs._raise_not_found_for_status(response, url)
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        if response.status != 206:
            declared = response.content_length
            if declared is None or declared > length:
                # Reading on would pull the whole file: refuse before the body comes.
                raise RangeIgnored(declared)
            data = await response.read()
            return FirstBlock(data, len(data), etag, modified)
        size = _total(response.headers.get("Content-Range"))
        if size is None:
            return None
        data = await response.read()
    return FirstBlock(data, size, etag, modified)


async def s3_first_block(fs, key, length):
    """:class:`FirstBlock` of ``key`` through s3fs ``fs`` (``get_object`` with a Range)."""
    bucket, key, version = fs.split_path(key)
    version = {"VersionId": version} if version else {}
    try:
        response = await fs._call_s3("get_object", Bucket=bucket, Key=key,
                                     Range=f"bytes=0-{length - 1}", **version)
    except Exception as exc:
        if http_status(exc) == 416 or "InvalidRange" in str(exc):  # an empty object
            return None
        raise
    try:
        data = await response["Body"].read()
    finally:
        response["Body"].close()
    size = _total(response.get("ContentRange"))
    if size is None:
        size = len(data) if response.get("ContentLength", len(data)) <= length else None
    if size is None:
        return None
    modified = response.get("LastModified")
    return FirstBlock(data, size, response.get("ETag"),
                      str(modified) if modified is not None else None)
