"""Cursor pagination for every API list.

A cursor stays correct while rows are added during a sync (offset paging would
skip or repeat rows), and its position is an opaque token rather than a page
number a client can guess past.
"""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Pages of `page_size` (default 50, at most 500), by a stable unique key.

    The default order is `uuid`: unique, never changes, and already public, so the
    cursor reveals no internal id. A view may set `ordering` to another unique,
    immutable key (or a tuple ending in one).
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "uuid"
