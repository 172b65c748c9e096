"""JSON rendered with orjson: several times faster than the standard library on
the large member lists a provider sync pulls."""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_encoder = JSONEncoder()


class OrjsonRenderer(JSONRenderer):
    """Compact UTF-8 JSON; anything orjson cannot encode natively (Decimal, lazy
    translations, querysets) falls back to DRF's encoder."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(data, default=_encoder.default)
