"""The ECM provider API (OAuth2; mounted by care_plans/api_urls.py).

- views: one view per operation, each calling one service or selector
- serializers: explicit input and output
- schema: OpenAPI examples and shared responses
"""
